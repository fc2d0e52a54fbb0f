import type { Locator, Page } from '@playwright/test';

// One item's page (/items/:id).
export class ItemPage {
  readonly price: Locator;
  readonly priceByTestId: Locator;
  readonly stock: Locator;
  readonly afterPrice: Locator;
  readonly heading: Locator;
  readonly headingByLevel: Locator;

  constructor(private readonly page: Page) {
    this.price = page.locator('.price');
    this.priceByTestId = page.getByTestId('price');
    this.stock = page.getByTestId('stock');
    this.afterPrice = page.locator('p.price + p');
    this.heading = page.locator('//main/h1');
    this.headingByLevel = page.getByRole('heading', { level: 1 });
  }

  async open(id: number) {
    await this.page.goto(`/items/${id}`);
  }
}
