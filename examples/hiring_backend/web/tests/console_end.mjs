// A member of the hiring team ends a running interview from the live view (with its
// confirmation); the interviewer closes politely and the scorecard shows the result.
// Config (env SCENARIO): {base, password, applicationPath}.

import { Scenario, launch, sleep, until } from './browser.mjs';

const cfg = JSON.parse(process.env.SCENARIO);
const s = new Scenario('console-end');

await s.run(async () => {
  const browser = await launch();
  const con = s.watch(await browser.newPage(), 'console');
  await con.goto(`${cfg.base}${cfg.applicationPath}`);
  await con.type('#password', cfg.password);
  await Promise.all([con.waitForNavigation(), con.keyboard.press('Enter')]);
  await until(con, 'the application page', () => window.consoleDiagnostics?.loaded, null, 20_000);
  await con.click('#watch');
  await until(con, 'the interviewer listening', () => (window.consoleDiagnostics.states ?? []).includes('listening'), null, 30_000);
  await sleep(1000);
  await con.click('#end-interview');
  s.report.confirmOpen = await con.$eval('#end-dialog', (d) => d.open);
  await s.shot(con, 'end-confirm');
  await con.click('#end-confirm');
  await until(con, 'the scorecard', () => !document.getElementById('scorecard').hidden, null, 60_000);
  s.report.scorecard = await con.$eval('#scorecard', (e) => e.innerText);
  await s.shot(con, 'ended-scorecard');
  await browser.close();
});
