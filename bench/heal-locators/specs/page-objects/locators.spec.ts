import { test, expect } from './fixtures';
import { ItemsPage } from './pages/items';
import { ItemPage } from './pages/item';
import { ItemForm } from './pages/item-form';
import { Shell } from './pages/shell';

// The page-object variant of the locator-healing benchmark's spec: the same
// tests, titles and assertions as ../locators.spec.ts, but every locator is a
// page-object field (pages/), so a heal must edit the page object. The
// benchmark copies this file to tests/locators.spec.ts and pages/ to tests/pages/.

test.describe('locators', () => {
  test('css id: #add-item', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await items.addItemById.click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('css class: a.button', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await items.addItemByClass.click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('structural css: main > a.button', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await items.addItemInMain.click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('xpath: //a[@id="add-item"]', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await items.addItemByXPath.click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('text selector: text=Add item', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await items.addItemByText.click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('role and name: link "Add item"', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await items.addItemByRole.click();
    await expect(page).toHaveURL(/\/items\/new$/);
  });

  test('css class: .price', async ({ page }) => {
    const item = new ItemPage(page);
    await item.open(1);
    await expect(item.price).toHaveText('$19.99');
  });

  test('test id: price', async ({ page }) => {
    const item = new ItemPage(page);
    await item.open(1);
    await expect(item.priceByTestId).toHaveText('$19.99');
  });

  test('test id: stock', async ({ page }) => {
    const item = new ItemPage(page);
    await item.open(2);
    await expect(item.stock).toHaveText('In stock: 3');
  });

  test('css sibling: p.price + p', async ({ page }) => {
    const item = new ItemPage(page);
    await item.open(1);
    await expect(item.afterPrice).toHaveText('In stock: 12');
  });

  test('xpath: //main/h1', async ({ page }) => {
    const item = new ItemPage(page);
    await item.open(3);
    await expect(item.heading).toHaveText('Green Sprocket');
  });

  test('test id list: item-row', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await expect(items.rows).toContainText([
      'Blue Widget',
      'Red Gadget',
      'Green Sprocket',
      'Yellow Gizmo',
      'Purple Doohickey',
    ]);
  });

  test('chain: item-row nth(1)', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await expect(items.rows.nth(1)).toContainText('Red Gadget');
  });

  test('chain: item-row filter hasText, then its link', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await items.openRow('Green Sprocket');
    await expect(new ItemPage(page).headingByLevel).toHaveText('Green Sprocket');
  });

  test('css list: ul.items > li first()', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await expect(items.rowsByClass.first()).toContainText('Blue Widget');
  });

  test('css class: p.count', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await expect(items.count).toHaveText('5 items');
  });

  test('css sibling: h1 + p', async ({ page }) => {
    const items = new ItemsPage(page);
    await items.open();
    await expect(items.countAfterHeading).toHaveText('5 items');
  });

  test('structural css: nav > a nth(1)', async ({ page }) => {
    const shell = new Shell(page);
    await shell.goto('/items');
    await shell.navLinks.nth(1).click();
    await expect(page).toHaveURL(/\/account$/);
  });

  test('role in role: navigation link "Account"', async ({ page }) => {
    const shell = new Shell(page);
    await shell.goto('/items');
    await shell.accountLink.click();
    await expect(page).toHaveURL(/\/account$/);
  });

  test('chain: header nav, then link "Items"', async ({ page }) => {
    const shell = new Shell(page);
    await shell.goto('/account');
    await shell.headerNav.getByRole('link', { name: 'Items' }).click();
    await expect(page).toHaveURL(/\/items$/);
  });

  test('css id: #username and #password', async ({ page }) => {
    // Signed out: the app sends a signed-in browser on from /login.
    await page.context().clearCookies();
    const shell = new Shell(page);
    await shell.goto('/login');
    await shell.signInAs('demo', 'demo-password');
    await expect(page).toHaveURL(/\/items$/);
  });

  test('text: getByText "Signed in as"', async ({ page }) => {
    const shell = new Shell(page);
    await shell.goto('/account');
    await expect(shell.signedInAs).toContainText('demo');
  });

  test('label and role: the item form', async ({ page }) => {
    const name = `Bench item ${Date.now()}`;
    const form = new ItemForm(page);
    await form.open();
    await form.create(name, '4.25');
    await expect(form.status).toHaveText(`Saved “${name}”`);
  });

  test('structural css: #item-form > button', async ({ page }) => {
    const name = `Bench item ${Date.now()}`;
    const form = new ItemForm(page);
    await form.open();
    await form.nameById.fill(name);
    await form.priceById.fill('4.25');
    await form.saveInForm.click();
    await expect(form.statusById).toHaveText(`Saved “${name}”`);
  });

  test('css sibling: #item-form + p', async ({ page }) => {
    const name = `Bench item ${Date.now()}`;
    const form = new ItemForm(page);
    await form.open();
    await form.nameById.fill(name);
    await form.priceById.fill('4.25');
    await form.save.click();
    await expect(form.statusAfterForm).toHaveText(`Saved “${name}”`);
  });
});
