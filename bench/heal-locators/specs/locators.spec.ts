import { test, expect } from './fixtures';

// The locator-healing benchmark's spec (bench/heal-locators): one test per locator
// style real suites use. The benchmark copies it into a checkout of the suite as
// tests/locators.spec.ts; the regular suite does not include it. Every test checks
// something only the intended element gives (the page it leads to, the text it
// holds, the item a form saves), so a heal that picks another element fails.

test.describe('locators', () => {
  test('css id: #add-item', async ({ page }) => {
    await page.goto('/items');
    await page.locator('#add-item').click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('css class: a.button', async ({ page }) => {
    await page.goto('/items');
    await page.locator('a.button').click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('structural css: main > a.button', async ({ page }) => {
    await page.goto('/items');
    await page.locator('main > a.button').click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('xpath: //a[@id="add-item"]', async ({ page }) => {
    await page.goto('/items');
    await page.locator('//a[@id="add-item"]').click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('text selector: text=Add item', async ({ page }) => {
    await page.goto('/items');
    await page.locator('text=Add item').click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('role and name: link "Add item"', async ({ page }) => {
    await page.goto('/items');
    await page.getByRole('link', { name: 'Add item' }).click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('css class: .price', async ({ page }) => {
    await page.goto('/items/1');
    await expect(page.locator('.price')).toHaveText('$19.99');
  });

  test('test id: price', async ({ page }) => {
    await page.goto('/items/1');
    await expect(page.getByTestId('price')).toHaveText('$19.99');
  });

  test('test id: stock', async ({ page }) => {
    await page.goto('/items/2');
    await expect(page.getByTestId('stock')).toHaveText('In stock: 3');
  });

  test('css sibling: p.price + p', async ({ page }) => {
    await page.goto('/items/1');
    await expect(page.locator('p.price + p')).toHaveText('In stock: 12');
  });

  test('xpath: //main/h1', async ({ page }) => {
    await page.goto('/items/3');
    await expect(page.locator('//main/h1')).toHaveText('Green Sprocket');
  });

  test('test id list: item-row', async ({ page }) => {
    await page.goto('/items');
    await expect(page.getByTestId('item-row')).toContainText([
      'Blue Widget',
      'Red Gadget',
      'Green Sprocket',
      'Yellow Gizmo',
      'Purple Doohickey',
    ]);
  });

  test('chain: item-row nth(1)', async ({ page }) => {
    await page.goto('/items');
    await expect(page.getByTestId('item-row').nth(1)).toContainText('Red Gadget');
  });

  test('chain: item-row filter hasText, then its link', async ({ page }) => {
    await page.goto('/items');
    await page.getByTestId('item-row').filter({ hasText: 'Green Sprocket' }).getByRole('link').click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Green Sprocket');
  });

  test('css list: ul.items > li first()', async ({ page }) => {
    await page.goto('/items');
    await expect(page.locator('ul.items > li').first()).toContainText('Blue Widget');
  });

  test('css class: p.count', async ({ page }) => {
    await page.goto('/items');
    await expect(page.locator('p.count')).toHaveText('5 items');
  });

  test('css sibling: h1 + p', async ({ page }) => {
    await page.goto('/items');
    await expect(page.locator('h1 + p')).toHaveText('5 items');
  });

  test('structural css: nav > a nth(1)', async ({ page }) => {
    await page.goto('/items');
    await page.locator('nav > a').nth(1).click();
    await expect(page).toHaveURL(/\/account$/);
  });

  test('role in role: navigation link "Account"', async ({ page }) => {
    await page.goto('/items');
    await page.getByRole('navigation').getByRole('link', { name: 'Account' }).click();
    await expect(page).toHaveURL(/\/account$/);
  });

  test('chain: header nav, then link "Items"', async ({ page }) => {
    await page.goto('/account');
    await page.locator('header nav').getByRole('link', { name: 'Items' }).click();
    await expect(page).toHaveURL(/\/items$/);
  });

  test('css id: #username and #password', async ({ page }) => {
    // Signed out: the app sends a signed-in browser on from /login.
    await page.context().clearCookies();
    await page.goto('/login');
    await page.locator('#username').fill('demo');
    await page.locator('#password').fill('demo-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/items$/);
  });

  test('text: getByText "Signed in as"', async ({ page }) => {
    await page.goto('/account');
    await expect(page.getByText('Signed in as')).toContainText('demo');
  });

  test('label and role: the item form', async ({ page }) => {
    const name = `Bench item ${Date.now()}`;
    await page.goto('/items/new');
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Price').fill('4.25');
    await page.getByRole('button', { name: 'Save item' }).click();
    await expect(page.getByRole('status')).toHaveText(`Saved “${name}”`);
  });

  test('structural css: #item-form > button', async ({ page }) => {
    const name = `Bench item ${Date.now()}`;
    await page.goto('/items/new');
    await page.locator('#item-name').fill(name);
    await page.locator('#item-price').fill('4.25');
    await page.locator('#item-form > button').click();
    await expect(page.locator('#form-status')).toHaveText(`Saved “${name}”`);
  });

  test('css sibling: #item-form + p', async ({ page }) => {
    const name = `Bench item ${Date.now()}`;
    await page.goto('/items/new');
    await page.locator('#item-name').fill(name);
    await page.locator('#item-price').fill('4.25');
    await page.getByRole('button', { name: 'Save item' }).click();
    await expect(page.locator('#item-form + p')).toHaveText(`Saved “${name}”`);
  });
});
