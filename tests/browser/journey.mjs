// The main journey of Sen in a real browser: a citizen searches, applies with a file; an
// officer receives and requests a supplement; the citizen supplies it; the officer hands off,
// the approver approves, the desk issues the result; the citizen sees it, rates the service and
// checks the signed result on the public verification page.
// A screenshot of each page goes to docs/screenshots/.
//
// Usage: SEN_URL=http://127.0.0.1:8099 node journey.mjs   (a `sen demo` must be running there)
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const base = process.env.SEN_URL ?? 'http://127.0.0.1:8099';
const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, '..', '..', 'docs', 'screenshots');
mkdirSync(shots, { recursive: true });
const pdf = join(here, 'giay-chung-sinh.pdf');
writeFileSync(pdf, '%PDF-1.4\n1 0 obj <</Type/Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n');

let passed = 0, failed = 0;
async function step(name, fn) {
  try { await fn(); passed++; console.log(`ok - ${name}`); }
  catch (e) { failed++; console.log(`not ok - ${name}\n  ${String(e).split('\n').join('\n  ')}`); throw e; }
}
const expectText = async (page, text) => {
  // The first *visible* match: collapsed sections (signed work records) may name the same people.
  await page.getByText(text, { exact: false }).filter({ visible: true }).first().waitFor({ timeout: 10000 });
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const viewport = { width: 1280, height: 900 };
const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

async function signIn(name) {
  const ctx = await browser.newContext({ viewport, locale: 'vi-VN' });
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#username', name);
  await page.fill('#password', 'sen-demo-2026');
  await page.click('main button[type=submit]');
  await page.waitForLoadState('networkidle');
  return page;
}

let code = '', dossierUrl = '';
try {
  const citizen = await signIn('congdan');
  await step('citizen searches the catalogue without diacritics', async () => {
    await citizen.goto(`${base}/`);
    await shot(citizen, '01-home');
    await citizen.fill('#q', 'dang ky khai sinh');
    await citizen.press('#q', 'Enter');
    await expectText(citizen, 'Đăng ký khai sinh');
    await shot(citizen, '02-search');
  });
  await step('citizen reads the procedure page', async () => {
    await citizen.getByRole('link', { name: 'Đăng ký khai sinh', exact: true }).first().click();
    await expectText(citizen, 'Thời hạn giải quyết');
    await shot(citizen, '03-procedure');
  });
  await step('citizen sees field errors, then applies with a file', async () => {
    await citizen.getByRole('link', { name: 'Nộp hồ sơ trực tuyến' }).click();
    await expectText(citizen, 'Họ, chữ đệm, tên của trẻ');
    await citizen.click('form[enctype] button[type=submit]');
    await expectText(citizen, 'Hồ sơ chưa hợp lệ');
    await shot(citizen, '04-form-errors');
    await citizen.fill('#f-child_full_name', 'Nguyễn Minh An');
    await citizen.fill('#f-child_birth_date', '2026-11-20');
    await citizen.selectOption('#f-child_sex', 'Nam');
    await citizen.fill('#f-place_of_birth', 'Bệnh viện Phụ sản Hà Nội');
    await citizen.fill('#f-ethnicity', 'Kinh');
    await citizen.fill('#f-mother_full_name', 'Trần Thị Mai');
    await citizen.fill('#f-mother_id_number', '001190012345');
    await citizen.selectOption('#f-relationship', 'Mẹ');
    await citizen.setInputFiles('input[name=component_1]', pdf);
    await shot(citizen, '05-form-filled');
    await citizen.click('form[enctype] button[type=submit]');
    await expectText(citizen, 'Đã nộp hồ sơ thành công');
    code = (await citizen.locator('.notice strong').first().textContent()).trim();
    dossierUrl = citizen.url().split('?')[0];
    await shot(citizen, '06-receipt');
    if (!code) throw new Error('no dossier code on the receipt');
  });

  const desk = await signIn('motcua');
  await step('officer finds it in the queue, receives it and requests a supplement', async () => {
    await desk.goto(`${base}/office?queue=new`);
    await expectText(desk, code);
    await shot(desk, '07-queue');
    await desk.getByRole('link', { name: code }).click();
    await desk.getByRole('button', { name: 'Tiếp nhận', exact: true }).click();
    await expectText(desk, 'Đã tiếp nhận');
    await desk.fill('#supp-reason', 'Đề nghị bổ sung bản sao giấy chứng sinh có xác nhận của bệnh viện.');
    await desk.getByRole('button', { name: 'Gửi yêu cầu' }).click();
    await expectText(desk, 'Chờ bổ sung');
    await shot(desk, '08-supplement-requested');
  });
  await step('citizen supplies the document', async () => {
    await citizen.goto(dossierUrl);
    await expectText(citizen, 'Cơ quan yêu cầu bổ sung hồ sơ');
    await citizen.setInputFiles('#supply-files', pdf);
    await citizen.fill('#supply-note', 'Đã bổ sung bản sao có xác nhận.');
    await citizen.getByRole('button', { name: 'Gửi bổ sung' }).click();
    await expectText(citizen, 'Đã tiếp nhận');
    await shot(citizen, '09-supplied');
  });
  await step('officer hands off to the approver, who approves', async () => {
    await desk.goto(dossierUrl);
    const value = await desk.locator('#to-user option', { hasText: 'Phạm Quang Huy' }).first().getAttribute('value');
    await desk.selectOption('#to-user', value);
    await desk.getByRole('button', { name: 'Chuyển', exact: true }).click();
    await expectText(desk, 'Đang xử lý');
    const approver = await signIn('lanhdao');
    await approver.goto(dossierUrl);
    await approver.getByRole('button', { name: 'Phê duyệt', exact: true }).click();
    await expectText(approver, 'Đã phê duyệt');
    await shot(approver, '10-approved');
  });
  await step('officer issues the result', async () => {
    await desk.goto(dossierUrl);
    await desk.getByRole('button', { name: 'Trả kết quả', exact: true }).click();
    await expectText(desk, 'Đã trả kết quả');
    await shot(desk, '11-result-issued');
  });
  await step('citizen sees the result, who opened the dossier, and rates the service', async () => {
    await citizen.goto(dossierUrl);
    await expectText(citizen, 'Đã trả kết quả');
    await expectText(citizen, 'Ai đã xem hồ sơ của tôi');
    await expectText(citizen, 'Trần Thị Thu Hà');
    await citizen.check('input[name=score][value="5"]');
    await citizen.fill('#rate-comment', 'Cán bộ hướng dẫn tận tình, nhận kết quả đúng hẹn.');
    await citizen.getByRole('button', { name: 'Gửi đánh giá' }).click();
    await expectText(citizen, 'Bạn đã đánh giá: 5/5');
    await shot(citizen, '12-rated');
  });
  await step('citizen checks the signed result on the public verification page', async () => {
    await citizen.goto(dossierUrl);
    await expectText(citizen, 'Kết quả điện tử đã ký số');
    await citizen.getByRole('link', { name: 'Kiểm tra tính xác thực' }).click();
    await expectText(citizen, 'Chữ ký hợp lệ');
    await expectText(citizen, 'Dấu thời gian');
    await shot(citizen, '14-verify');
  });
  await step('an administrator registers a service and grants the portal a right in the exchange directory', async () => {
    const admin = await signIn('admin');
    await admin.goto(`${base}/admin/exchange`);
    await expectText(admin, 'Danh bạ trao đổi dữ liệu');
    await admin.selectOption('#v-provider', 'VN/GOV/BTC/DKDN');
    await admin.fill('#v-code', 'household-businesses');
    await admin.fill('#v-title', 'Thông tin đăng ký hộ kinh doanh');
    await admin.fill('#v-base', 'http://127.0.0.1:9/hkd');
    await admin.fill('#v-timeout', '3000');
    await admin.getByRole('button', { name: 'Lưu', exact: true }).click();
    await expectText(admin, 'Thông tin đăng ký hộ kinh doanh');
    await admin.selectOption('#r-service', 'VN/GOV/BTC/DKDN/household-businesses');
    await admin.fill('#r-client', 'VN/GOV/VPCP/DVCQG');
    await admin.selectOption('#r-method', 'GET');
    await admin.fill('#r-path', '/households/*');
    await admin.getByRole('button', { name: 'Cấp quyền', exact: true }).click();
    await expectText(admin, '/households/*');
    // The demo's own gateways are listed.
    await expectText(admin, 'Cổng kết nối');
    await shot(admin, '15-exchange-directory');
  });
  await step('a business gives a bank its consent and revokes it', async () => {
    const business = await signIn('doanhnghiep');
    await business.goto(`${base}/consents`);
    await expectText(business, 'Đồng ý chia sẻ dữ liệu');
    await business.fill('#c-client', 'VN/GOV/VPCP/DVCQG');
    await business.fill('#c-service', 'VN/GOV/BTC/DKDN/enterprises');
    await business.fill('#c-purpose', 'Đối chiếu thông tin khi làm thủ tục tạm ngừng kinh doanh');
    const until = new Date(Date.now() + 30 * 86400 * 1000).toISOString().slice(0, 10);
    await business.fill('#c-until', until);
    await business.getByRole('button', { name: 'Cho phép', exact: true }).click();
    await expectText(business, 'Đang hiệu lực');
    await shot(business, '16-consents');
    await business.getByRole('button', { name: 'Thu hồi', exact: true }).click();
    await expectText(business, 'Đã thu hồi');
  });
  await step('a citizen applies for permanent residence with data the state already holds', async () => {
    await citizen.goto(`${base}/procedures?q=thuong tru`);
    await citizen.getByRole('link', { name: 'Đăng ký thường trú', exact: true }).first().click();
    await citizen.getByRole('link', { name: 'Nộp hồ sơ trực tuyến' }).click();
    await expectText(citizen, 'Dữ liệu Nhà nước đã có');
    await citizen.getByRole('button', { name: 'Lấy dữ liệu của tôi' }).click();
    await expectText(citizen, 'Xem trước dữ liệu được lấy');
    await expectText(citizen, 'Họ tên chủ hộ');
    await shot(citizen, '18-once-only-preview');
    await citizen.getByRole('button', { name: 'Dùng dữ liệu này cho hồ sơ' }).click();
    await expectText(citizen, 'Hồ sơ dùng dữ liệu bạn đã xem và xác nhận');
    if (!(await citizen.inputValue('#f-head_of_household'))) throw new Error('the head of household was not pre-filled');
    if (!(await citizen.inputValue('#f-new_address'))) await citizen.fill('#f-new_address', 'Số 8 ngõ 12 Hàng Bạc, phường Hoàn Kiếm');
    if (!(await citizen.inputValue('#f-housing_proof'))) await citizen.selectOption('#f-housing_proof', 'Hợp đồng thuê, mượn');
    // The land certificate stands in for the proof of housing when the registry has one.
    if ((await citizen.locator('p.fetched').count()) === 0) await citizen.setInputFiles('input[name=component_1]', pdf);
    await shot(citizen, '19-once-only-form');
    await citizen.click('form[enctype] button[type=submit]');
    await expectText(citizen, 'Đã nộp hồ sơ thành công');
    await expectText(citizen, 'Nguồn thành phần hồ sơ');
    await expectText(citizen, 'Điền sẵn từ');
    await shot(citizen, '20-once-only-provenance');
  });
  await step('an official sees the reuse figures (K2, K7) and the systems exchanging data (K12)', async () => {
    await desk.goto(`${base}/admin/reuse`);
    await expectText(desk, 'Tái sử dụng dữ liệu (chỉ tiêu K2)');
    await expectText(desk, 'Đăng ký thường trú');
    await shot(desk, '21-reuse-figures');
    await desk.goto(`${base}/admin/exchange`);
    await expectText(desk, 'trao đổi dữ liệu trong 30 ngày qua (K12)');
  });
  await step('a citizen sees who read their data in the national databases', async () => {
    await citizen.goto(`${base}/my-data`);
    await expectText(citizen, 'Ai đã đọc dữ liệu của tôi');
    await expectText(citizen, 'Đăng ký thường trú (1.004194)');
    await shot(citizen, '17-who-read-my-data');
  });
  await step('anyone asks the assistant from the box on every page', async () => {
    await citizen.goto(`${base}/procedures`);
    await citizen.fill('#assistant-q', 'lam CCCD cho con 14 tuoi');
    await citizen.press('#assistant-q', 'Enter');
    await expectText(citizen, 'Nguồn');
    await citizen.getByRole('link', { name: 'Cấp thẻ Căn cước' }).first().waitFor();
    await shot(citizen, '22-assistant');
  });
  await step('a parent applies for the birth bundle, adds the missing birth notice, and sees where each part stands', async () => {
    await citizen.goto(`${base}/bundles`);
    await citizen.getByRole('link', { name: 'Liên thông đăng ký khai sinh' }).first().click();
    await expectText(citizen, 'Nơi đăng ký khám chữa bệnh ban đầu');
    await citizen.fill('#f-child_full_name', 'Nguyễn Minh Khang');
    await citizen.fill('#f-child_birth_date', '2026-11-25');
    await citizen.selectOption('#f-child_sex', 'Nam');
    await citizen.fill('#f-place_of_birth', 'Bệnh viện Phụ sản Hà Nội');
    await citizen.fill('#f-ethnicity', 'Kinh');
    await citizen.fill('#f-mother_full_name', 'Trần Thị Mai');
    await citizen.fill('#f-mother_id_number', '001190012345');
    await citizen.selectOption('#f-relationship', 'Mẹ');
    await citizen.fill('[id="f-part-1.011860-initial_facility"]', 'Trạm Y tế phường Hoàn Kiếm');
    await shot(citizen, '23-bundle-form');
    await citizen.click('form[enctype] button[type=submit]');
    await expectText(citizen, 'Chờ bổ sung giấy tờ');
    await citizen.setInputFiles('form[action$="/documents"] input[name=component_1]', pdf);
    await citizen.click('form[action$="/documents"] button[type=submit]');
    await expectText(citizen, 'Đang giải quyết');
    await citizen.getByRole('link', { name: 'xem hồ sơ' }).first().waitFor();
    await shot(citizen, '24-bundles');
  });
  await step('a citizen finds offers in the inbox and services people also needed', async () => {
    await citizen.goto(`${base}/inbox`);
    await expectText(citizen, 'Đang chờ bạn');
    await shot(citizen, '25-inbox');
    await citizen.goto(`${base}/dossiers`);
    await expectText(citizen, 'Có thể bạn cũng cần');
    await shot(citizen, '26-also-needed');
  });
  await step('the portal speaks English on request', async () => {
    await citizen.goto(`${base}/procedures?lang=en`);
    await expectText(citizen, 'Administrative procedures');
    await shot(citizen, '13-english');
    await citizen.goto(`${base}/?lang=vi`);
  });
} catch (e) {
  if (!failed) { failed++; console.log(`not ok - ${e}`); }
} finally {
  await browser.close();
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
