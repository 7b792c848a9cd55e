//! Money as a billing manager reads it: every amount with its currency's decimals (ISO 4217
//! minor units: `4.50` USD, `1200` JPY, `1.250` KWD), never fewer, so a column of prices lines
//! up in a spreadsheet and `2469.0` never appears next to `-12`.

use rust_decimal::{Decimal, RoundingStrategy};

/// The currency's decimals (ISO 4217 minor units); 2 for a code this table does not list.
pub fn decimals(currency: &str) -> u32 {
    match currency.trim().to_ascii_uppercase().as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// An amount (a total, an impact) rounded to the currency's decimals, half away from zero as on
/// an invoice, and written with exactly that many: `2469.0` → `2469.00`, `-12` → `-12.00`.
pub fn amount(d: Decimal, currency: &str) -> Decimal {
    let dp = decimals(currency);
    let mut d = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    d.rescale(dp);
    d
}

/// A unit price with at least the currency's decimals, and more only when the price has them
/// (`0.125` per GB stays `0.125`: rounding a price would make every amount from it wrong).
pub fn price(d: Decimal, currency: &str) -> Decimal {
    let dp = decimals(currency);
    let mut d = d.normalize();
    if d.scale() < dp {
        d.rescale(dp);
    }
    d
}

/// For people: thousands grouped, `-2,469.00`.
pub fn grouped(d: Decimal) -> String {
    let text = d.to_string();
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text.as_str()),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(text.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_and_prices_carry_the_currency_decimals() {
        type Case<'a> = (&'a str, &'a str, &'a str, &'a str);
        // value, currency, as an amount, as a price
        let cases: &[Case] = &[
            ("4.5", "USD", "4.50", "4.50"),
            ("11.0", "USD", "11.00", "11.00"),
            ("7.65", "EUR", "7.65", "7.65"),
            ("2469.0", "USD", "2469.00", "2469.00"),
            ("-12", "USD", "-12.00", "-12.00"),
            ("0", "GBP", "0.00", "0.00"),
            ("0.125", "USD", "0.13", "0.125"),
            ("1200", "JPY", "1200", "1200"),
            ("1200.4", "jpy", "1200", "1200.4"),
            ("-0.125", "USD", "-0.13", "-0.125"),
            ("1.25", "KWD", "1.250", "1.250"),
            ("3", "XYZ", "3.00", "3.00"),
        ];
        for (v, cur, amt, pr) in cases {
            assert_eq!(amount(d(v), cur).to_string(), *amt, "amount {v} {cur}");
            assert_eq!(price(d(v), cur).to_string(), *pr, "price {v} {cur}");
        }
    }

    #[test]
    fn grouping_thousands_for_people() {
        for (v, want) in [
            ("2469.00", "2,469.00"),
            ("-1234567.5", "-1,234,567.5"),
            ("999.99", "999.99"),
            ("0.00", "0.00"),
            ("100000", "100,000"),
        ] {
            assert_eq!(grouped(d(v)), want);
        }
    }
}
