// Display helpers shared by server and client components.
export function formatPrice(cents: number, currency = "USD", locale = "en-US"): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
}

// A timestamp as a date and time in the reader's time zone, e.g. "Mar 4, 2026, 2:05 PM".
export function formatDate(iso: string, locale = "en-US"): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(d);
}

export function authorNames(authors: ReadonlyArray<{ name: string }>): string {
  return authors.map((a) => a.name).join(", ");
}

// Shortens text to at most `max` characters at a word boundary, with an ellipsis.
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

// "1 item", "3 items".
export function itemCount(n: number): string {
  return `${n} ${n === 1 ? "item" : "items"}`;
}
