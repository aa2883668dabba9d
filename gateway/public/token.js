/**
 * The access token: taken from the link's fragment (`#token=...`, never sent to the server by the browser), kept in
 * this origin's localStorage so a reload or a later visit works, and removed from the visible address at once so it
 * does not end up in a screenshot or a shared link by accident.
 */
const KEY = 'gravity-led.token';
let memory = '';

export function takeTokenFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token) {
    saveToken(token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return loadToken();
}

export function loadToken() {
  try {
    return localStorage.getItem(KEY) ?? memory;
  } catch {
    return memory; // storage blocked (private mode on some browsers): keep it for this page only
  }
}

export function saveToken(token) {
  memory = token.trim();
  try {
    localStorage.setItem(KEY, memory);
  } catch {
    // kept in memory only
  }
}

/** The form where a person types or pastes the token when the page was opened without one. */
export function bindTokenForm(form, onToken) {
  const input = form.querySelector('input');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    saveToken(token);
    input.value = '';
    form.hidden = true;
    onToken(token);
  });
  return {
    show(message) {
      form.querySelector('.why').textContent = message;
      form.hidden = false;
    },
    hide() {
      form.hidden = true;
    },
  };
}
