// Amounts are integer minor units (paise) end to end; rupees exist only as text typed or shown,
// converted by string arithmetic so that no float ever rounds a paisa.

const GROUPING = new Intl.NumberFormat("en-IN", { maximumFractionDigits: 0 });

export function formatMoney(minor, currency = "INR") {
  const sign = minor < 0 ? "-" : "";
  const whole = Math.floor(Math.abs(minor) / 100);
  const fraction = String(Math.abs(minor) % 100).padStart(2, "0");
  const symbol = currency === "INR" ? "₹" : `${currency} `;
  return `${sign}${symbol}${GROUPING.format(whole)}.${fraction}`;
}

// "1,234.5" or "₹ 123.45" -> 123450 / 12345; throws RangeError with a message for a person.
export function parseRupees(text) {
  const cleaned = text.replace(/[₹,\s]/g, "");
  const match = /^(\d{1,13})(?:\.(\d*))?$/.exec(cleaned);
  if (!match) {
    throw new RangeError("Enter an amount in rupees, like 123.45.");
  }
  const fraction = match[2] ?? "";
  if (fraction.length > 2) {
    throw new RangeError("At most two digits after the point: amounts are in whole paise.");
  }
  return Number(match[1]) * 100 + Number(fraction.padEnd(2, "0"));
}
