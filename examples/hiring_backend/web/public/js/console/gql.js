// GraphQL for the console pages: the session cookie goes along (same origin); a 401 means the
// session ended, so the page reloads into the sign-in form.

export class GqlError extends Error {
  constructor(message, code, fields) {
    super(message);
    this.code = code;
    /** For BAD_USER_INPUT: [{field, message}]. */
    this.fields = fields ?? [];
  }
}

export async function gql(query, variables = {}) {
  let res;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new GqlError('The backend cannot be reached. Check the connection and try again.', 'network');
  }
  if (res.status === 401) {
    location.reload();
    throw new GqlError('Signed out.', 'UNAUTHENTICATED');
  }
  const body = await res.json().catch(() => ({}));
  if (body.errors?.length) {
    const e = body.errors[0];
    throw new GqlError(e.message, e.extensions?.code, e.extensions?.fields);
  }
  if (!res.ok) throw new GqlError(`The backend answered ${res.status}.`, 'http');
  return body.data;
}

export async function signOut() {
  await fetch('/console/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {});
  location.replace('/console/login');
}

/** Text of a state for people. */
export const STATE_WORDS = {
  NOT_INVITED: 'not invited',
  INVITED: 'invited',
  IN_INTERVIEW: 'in interview',
  COMPLETED: 'completed',
  FAILED: 'failed',
};

export const RECOMMENDATION_WORDS = {
  STRONG_YES: 'strong yes',
  YES: 'yes',
  NO: 'no',
  STRONG_NO: 'strong no',
};

/** A DOM element with text content (no HTML parsing of data). */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}
