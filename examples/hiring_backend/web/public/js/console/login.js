// Console sign-in: the operator password for an HttpOnly session cookie, then the page that
// was asked for (this page is served with 401 in place of any console page).

import { ApiError, postJson } from '../shared/api.js';

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
document.getElementById('password').focus();

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = document.getElementById('password');
  if (!input.value) {
    error.textContent = 'Enter the operator password.';
    input.focus();
    return;
  }
  const button = document.getElementById('login-submit');
  button.disabled = true;
  error.textContent = '';
  try {
    await postJson('/console/login', { password: input.value });
    const here = location.pathname;
    location.replace(here.startsWith('/console') && here !== '/console/login' ? here : '/console');
  } catch (err) {
    error.textContent = err instanceof ApiError ? err.message : 'Sign-in failed. Try again.';
    input.select();
    input.focus();
  } finally {
    button.disabled = false;
  }
});
