//! `ci-medic fix`: the fix-agent's stages.

pub mod pr;
