//! Every command's exit codes, in one table, and the error that carries a
//! user's mistake to `main` with its code.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done; for an agent stage also "could not, and said why" (best-effort) |
//! | 1 | the stage's own failure, when it is not best-effort (`--strict`), or nothing was posted |
//! | 2 | bad input: a command line, file or document that is not what it should be; nothing written |

/// The stage's own failure (`--strict`, nothing posted, the service failed).
pub const FAILED: u8 = 1;
/// Bad input; nothing was written.
pub const BAD_INPUT: u8 = 2;

/// A mistake the user can fix (a bad file, document or flag): `main` prints it
/// as `ci-medic <command>: error: <message>` and exits with `code`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    /// What was expected, what was found, and where.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

impl UserError {
    /// Bad input: exit code [`BAD_INPUT`].
    pub fn bad_input(message: impl Into<String>) -> UserError {
        UserError {
            message: message.into(),
            code: BAD_INPUT,
        }
    }
}

/// A message about bad input is a [`UserError::bad_input`].
impl From<String> for UserError {
    fn from(message: String) -> UserError {
        UserError::bad_input(message)
    }
}
