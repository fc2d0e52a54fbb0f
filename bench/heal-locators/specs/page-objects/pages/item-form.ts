import type { Locator, Page } from '@playwright/test';

// The new-item form (/items/new).
export class ItemForm {
  readonly name: Locator;
  readonly price: Locator;
  readonly save: Locator;
  readonly status: Locator;
  readonly nameById: Locator;
  readonly priceById: Locator;
  readonly saveInForm: Locator;
  readonly statusById: Locator;
  readonly statusAfterForm: Locator;

  constructor(private readonly page: Page) {
    this.name = page.getByLabel('Name');
    this.price = page.getByLabel('Price');
    this.save = page.getByRole('button', { name: 'Save item' });
    this.status = page.getByRole('status');
    this.nameById = page.locator('#item-name');
    this.priceById = page.locator('#item-price');
    this.saveInForm = page.locator('#item-form > button');
    this.statusById = page.locator('#form-status');
    this.statusAfterForm = page.locator('#item-form + p');
  }

  async open() {
    await this.page.goto('/items/new');
  }

  /** Fills the form by its labels and saves. */
  async create(name: string, price: string) {
    await this.name.fill(name);
    await this.price.fill(price);
    await this.save.click();
  }
}
