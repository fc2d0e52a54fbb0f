import type { Locator, Page } from '@playwright/test';

// What every signed-in page has: the header's navigation, the account page, sign-in.
export class Shell {
  readonly navLinks: Locator;
  readonly navigation: Locator;
  readonly headerNav: Locator;
  readonly accountLink: Locator;
  readonly signedInAs: Locator;
  readonly username: Locator;
  readonly password: Locator;
  readonly signIn: Locator;

  constructor(private readonly page: Page) {
    this.navLinks = page.locator('nav > a');
    this.navigation = page.getByRole('navigation');
    this.headerNav = page.locator('header nav');
    this.accountLink = page.getByRole('navigation').getByRole('link', { name: 'Account' });
    this.signedInAs = page.getByText('Signed in as');
    this.username = page.locator('#username');
    this.password = page.locator('#password');
    this.signIn = page.getByRole('button', { name: 'Sign in' });
  }

  async goto(path: string) {
    await this.page.goto(path);
  }

  async signInAs(user: string, password: string) {
    await this.username.fill(user);
    await this.password.fill(password);
    await this.signIn.click();
  }
}
