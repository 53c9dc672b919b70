//! Numbers printed the way dive's Go code prints them, so that strata's dive-style lines and
//! CI messages read the same: `%v` of a float64 and go-humanize's `Bytes`.

/// Go's `%v` of a float64: the shortest digits that read back the same, in exponent form
/// (`1.5e-05`, `1.234567e+06`) when the decimal exponent is below -4 or 6 and more.
pub fn go_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "1.2345e-5", "-3e0".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if !(-4..6).contains(&exp) {
        return exponent_form(mantissa, exp);
    }
    format!("{value}")
}

fn exponent_form(mantissa: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// go-humanize's `Bytes`: SI units, one decimal below 10 (`1.2 MB`, `83 MB`, `9 B`).
pub fn humanize_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 10 {
        return format!("{bytes} B");
    }
    let e = ((bytes as f64).ln() / 1000f64.ln()).floor();
    let value = (bytes as f64 / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    let unit = UNITS[e as usize];
    if value < 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}
