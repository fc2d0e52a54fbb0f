import type { Locator, Page } from '@playwright/test';

// The item list (/items), as a page object: every locator of the list page the
// bench tests use, one field each, written once in the constructor.
export class ItemsPage {
  readonly addItemById: Locator;
  readonly addItemByClass: Locator;
  readonly addItemInMain: Locator;
  readonly addItemByXPath: Locator;
  readonly addItemByText: Locator;
  readonly addItemByRole: Locator;
  readonly rows: Locator;
  readonly rowsByClass: Locator;
  readonly count: Locator;
  readonly countAfterHeading: Locator;

  constructor(private readonly page: Page) {
    this.addItemById = page.locator('#add-item');
    this.addItemByClass = page.locator('a.button');
    this.addItemInMain = page.locator('main > a.button');
    this.addItemByXPath = page.locator('//a[@id="add-item"]');
    this.addItemByText = page.locator('text=Add item');
    this.addItemByRole = page.getByRole('link', { name: 'Add item' });
    this.rows = page.getByTestId('item-row');
    this.rowsByClass = page.locator('ul.items > li');
    this.count = page.locator('p.count');
    this.countAfterHeading = page.locator('h1 + p');
  }

  async open() {
    await this.page.goto('/items');
  }

  /** The link of the row that shows `name`. */
  async openRow(name: string) {
    await this.rows.filter({ hasText: name }).getByRole('link').click();
  }
}
