//! Activity values as written in a file: a unit ([`ActivityUnit`]) and a text value become a
//! pActivity (−log10 of the molar value). Text level only, like the rest of this crate: the
//! gateway checks units when a batch is uploaded, the worker converts each molecule's value
//! and reports a bad one with that molecule ([`ActivityError`]), never dropping it.

use std::fmt;
use std::str::FromStr;

/// The unit of an activity column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityUnit {
    /// Picomolar.
    Picomolar,
    /// Nanomolar.
    Nanomolar,
    /// Micromolar.
    Micromolar,
    /// Millimolar.
    Millimolar,
    /// Molar.
    Molar,
    /// Already −log10(molar): pKi, pIC50, pEC50...
    NegativeLog,
}

impl ActivityUnit {
    /// The name the API writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Picomolar => "pM",
            Self::Nanomolar => "nM",
            Self::Micromolar => "uM",
            Self::Millimolar => "mM",
            Self::Molar => "M",
            Self::NegativeLog => "p",
        }
    }

    /// log10 of the molar value of one unit (nM: −9); `None` for [`Self::NegativeLog`].
    fn log10_molar(self) -> Option<f64> {
        match self {
            Self::Picomolar => Some(-12.0),
            Self::Nanomolar => Some(-9.0),
            Self::Micromolar => Some(-6.0),
            Self::Millimolar => Some(-3.0),
            Self::Molar => Some(0.0),
            Self::NegativeLog => None,
        }
    }

    /// The pActivity of a value written `text` in this unit.
    ///
    /// ```
    /// use molbatch_formats::ActivityUnit;
    /// assert_eq!(ActivityUnit::Nanomolar.p_activity("100").unwrap(), 7.0);
    /// assert_eq!(ActivityUnit::NegativeLog.p_activity(" 6.5 ").unwrap(), 6.5);
    /// assert!(ActivityUnit::Micromolar.p_activity("<10").is_err());
    /// ```
    pub fn p_activity(self, text: &str) -> Result<f64, ActivityError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ActivityError::Missing);
        }
        let value: f64 = text.parse().map_err(|_| ActivityError::NotANumber {
            value: text.to_owned(),
        })?;
        if !value.is_finite() {
            return Err(ActivityError::NotANumber {
                value: text.to_owned(),
            });
        }
        match self.log10_molar() {
            None => Ok(value),
            Some(_) if value <= 0.0 => Err(ActivityError::NotPositive { value }),
            Some(scale) => Ok(-(value.log10() + scale)),
        }
    }
}

impl fmt::Display for ActivityUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit name that is not one of the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown activity unit {given:?}; one of pM, nM, uM (µM), mM, M, or p / log / -log for values already in -log10(molar)")]
pub struct UnknownUnit {
    /// The name that was given.
    pub given: String,
}

impl FromStr for ActivityUnit {
    type Err = UnknownUnit;

    /// Prefixes are read case-insensitively (`nm` is nM), except that a lone `m` is not a
    /// unit; `µM` may use the micro sign or the Greek mu.
    fn from_str(s: &str) -> Result<Self, UnknownUnit> {
        let trimmed = s.trim();
        let unit = match trimmed {
            "M" => Self::Molar,
            _ => match trimmed.to_lowercase().as_str() {
                "pm" => Self::Picomolar,
                "nm" => Self::Nanomolar,
                "um" | "µm" | "μm" => Self::Micromolar,
                "mm" => Self::Millimolar,
                "p" | "log" | "-log" | "plog" | "-log10" => Self::NegativeLog,
                _ => {
                    return Err(UnknownUnit {
                        given: s.to_owned(),
                    })
                }
            },
        };
        Ok(unit)
    }
}

/// Why one molecule's activity value has no pActivity.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActivityError {
    /// The value is empty or the column is absent from the record.
    #[error("missing value")]
    Missing,
    /// The value is not a plain number (qualified values such as `>10` included).
    #[error("{value:?} is not a number")]
    NotANumber {
        /// The text.
        value: String,
    },
    /// A concentration of zero or less has no logarithm.
    #[error("{value} is not a positive concentration")]
    NotPositive {
        /// The value.
        value: f64,
    },
    /// The unit is not one [`ActivityUnit`] knows.
    #[error(transparent)]
    Unit(#[from] UnknownUnit),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_converts_to_minus_log_molar() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(
            ActivityUnit::Picomolar.p_activity("1").unwrap(),
            12.0
        ));
        assert!(close(
            ActivityUnit::Nanomolar.p_activity("74").unwrap(),
            7.130768280269024
        ));
        assert!(close(
            ActivityUnit::Micromolar.p_activity("2.5").unwrap(),
            5.6020599913279625
        ));
        assert!(close(
            ActivityUnit::Millimolar.p_activity("1e-1").unwrap(),
            4.0
        ));
        assert!(close(ActivityUnit::Molar.p_activity("0.001").unwrap(), 3.0));
        assert!(close(
            ActivityUnit::NegativeLog.p_activity("-1.5").unwrap(),
            -1.5
        ));
    }

    #[test]
    fn bad_values_say_why() {
        let nm = ActivityUnit::Nanomolar;
        assert_eq!(nm.p_activity(" "), Err(ActivityError::Missing));
        assert!(matches!(
            nm.p_activity(">10"),
            Err(ActivityError::NotANumber { .. })
        ));
        assert!(matches!(
            nm.p_activity("NaN"),
            Err(ActivityError::NotANumber { .. })
        ));
        assert_eq!(
            nm.p_activity("0"),
            Err(ActivityError::NotPositive { value: 0.0 })
        );
        assert!(ActivityUnit::NegativeLog.p_activity("inf").is_err());
    }

    #[test]
    fn unit_names() {
        for (name, unit) in [
            ("pM", ActivityUnit::Picomolar),
            ("nM", ActivityUnit::Nanomolar),
            ("NM", ActivityUnit::Nanomolar),
            ("µM", ActivityUnit::Micromolar),
            ("μM", ActivityUnit::Micromolar),
            ("uM", ActivityUnit::Micromolar),
            ("mM", ActivityUnit::Millimolar),
            ("M", ActivityUnit::Molar),
            ("p", ActivityUnit::NegativeLog),
            ("-log", ActivityUnit::NegativeLog),
            ("LOG", ActivityUnit::NegativeLog),
        ] {
            assert_eq!(name.parse::<ActivityUnit>(), Ok(unit), "{name}");
            assert_eq!(unit.as_str().parse::<ActivityUnit>(), Ok(unit));
        }
        for bad in ["m", "", "kM", "nanomolar"] {
            assert!(bad.parse::<ActivityUnit>().is_err(), "{bad}");
        }
    }
}
