// Manual probe (development aid): open a candidate link, enter the code, join, watch.
import { launch, Scenario, enterCode, until, sleep, diagnostics } from './browser.mjs';
const [link, code, secs = '30', wav] = process.argv.slice(2);
const s = new Scenario('manual');
s.run(async () => {
  const browser = await launch({ micWav: wav });
  const page = s.watch(await browser.newPage(), 'candidate');
  await page.goto(link);
  await s.shot(page, 'code');
  console.error(await enterCode(page, code));
  await page.click('#mic-allow');
  await until(page, 'mic', () => !document.getElementById('join').disabled);
  await sleep(500);
  await s.shot(page, 'device');
  await page.click('#join');
  await sleep(Number(secs) * 1000);
  await s.shot(page, 'call');
  const d = await diagnostics(page);
  s.report.diag = { ...d, samples: d.samples.length };
  await browser.close();
});
