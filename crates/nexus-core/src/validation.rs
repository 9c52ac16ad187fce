use std::collections::BTreeMap;

/// Field-level validation failures, keyed by the JSON field name as the client
/// sent it (nested fields as `parent.child`). Rendered as the `errors` member of
/// a 400 problem response; or of a 422 when every failure breaks a rule the API
/// document cannot state (`add_unstated`), as a body the document allows is
/// never a 400.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ValidationErrors {
    fields: BTreeMap<String, Vec<String>>,
    /// Some failure breaks a rule the document states.
    stated: bool,
}

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.stated = true;
        self.push(field, message.into());
    }

    /// A failure of a rule the API document cannot state (a size in bytes).
    pub fn add_unstated(&mut self, field: &str, message: impl Into<String>) {
        self.push(field, message.into());
    }

    fn push(&mut self, field: &str, message: String) {
        self.fields
            .entry(field.to_owned())
            .or_default()
            .push(message);
    }

    /// Every failure breaks a rule the document cannot state.
    pub fn only_unstated(&self) -> bool {
        !self.stated && !self.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, Vec<String>> {
        &self.fields
    }

    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (field, messages) in &self.fields {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Inclusive length bounds in characters (Unicode scalar values, as JSON
/// Schema's `minLength`/`maxLength` count).
#[derive(Debug, Clone, Copy)]
pub struct Len {
    pub min: usize,
    pub max: usize,
}

impl Len {
    pub const fn between(min: usize, max: usize) -> Self {
        Len { min, max }
    }
    pub const fn at_most(max: usize) -> Self {
        Len { min: 0, max }
    }
}

/// Collects the errors of one request body while its fields are checked, so
/// that a client learns every bad field at once.
#[derive(Debug, Default)]
pub struct Check {
    errors: ValidationErrors,
}

impl Check {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    /// A field that must be present (and not null).
    pub fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.fail(field, "is required");
        }
        value
    }

    /// Checks the length bounds and content of an optional text value.
    pub fn text(&mut self, field: &str, value: Option<String>, len: Len) -> Option<String> {
        let value = value?;
        match check_text(&value, len) {
            Ok(()) => Some(value),
            Err(message) => {
                self.fail(field, message);
                None
            }
        }
    }

    /// A text value that must be present.
    pub fn required_text(
        &mut self,
        field: &str,
        value: Option<String>,
        len: Len,
    ) -> Option<String> {
        let value = self.required(field, value)?;
        self.text(field, Some(value), len)
    }

    /// Parses an optional value with its type's constructor.
    pub fn parse<T>(
        &mut self,
        field: &str,
        value: Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = value?;
        match parse(&value) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.fail(field, message);
                None
            }
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn finish(self) -> Result<(), ValidationErrors> {
        self.errors.into_result()
    }

    /// Ends the check, handing back `value` when no field failed.
    pub fn finish_with<T>(self, value: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        self.errors.into_result().map(|()| value())
    }
}

/// The most a JSON object field (`metadata`, `customMetadata`) may hold:
/// its JSON text's length in bytes.
pub const JSON_OBJECT_MAX_BYTES: usize = 16 * 1024;

/// An optional JSON object field: empty when absent, refused when its JSON
/// text is longer than `JSON_OBJECT_MAX_BYTES` (alone, a 422: the document
/// cannot state a size in bytes).
pub fn json_object(
    check: &mut Check,
    field: &str,
    value: Option<serde_json::Map<String, serde_json::Value>>,
) -> serde_json::Map<String, serde_json::Value> {
    let value = value.unwrap_or_default();
    let length = serde_json::Value::Object(value.clone()).to_string().len();
    if length > JSON_OBJECT_MAX_BYTES {
        check.errors.add_unstated(
            field,
            format!("must be at most {JSON_OBJECT_MAX_BYTES} bytes as JSON (it is {length})"),
        );
    }
    value
}

/// Length bounds, plus no control characters (they have no place in names and
/// identifiers and break logs and legacy systems downstream).
pub fn check_text(value: &str, len: Len) -> Result<(), String> {
    let count = value.chars().count();
    if count < len.min {
        return Err(if len.min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {} characters long", len.min)
        });
    }
    if count > len.max {
        return Err(format!("must be at most {} characters long", len.max));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

/// A JSON number that is a 32-bit integer, also when written with a zero
/// fraction (`7.0`): JSON has one kind of number, and a document's
/// `integer` admits such a number.
fn whole_int32(number: &serde_json::Number) -> Option<i32> {
    if let Some(whole) = number.as_i64() {
        return i32::try_from(whole).ok();
    }
    let float = number.as_f64()?;
    let in_range = (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&float);
    (float.fract() == 0.0 && in_range).then_some(float as i32)
}

/// Deserializes an int32 body field (see `whole_int32`).
pub fn int32<'de, D>(deserializer: D) -> Result<i32, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let number = <serde_json::Number as serde::Deserialize>::deserialize(deserializer)?;
    whole_int32(&number).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "invalid value: {number}, expected a 32-bit integer"
        ))
    })
}

/// `int32` of an optional field (with `#[serde(default)]`).
pub fn opt_int32<'de, D>(deserializer: D) -> Result<Option<i32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    struct Int32(#[serde(deserialize_with = "int32")] i32);
    let value = <Option<Int32> as serde::Deserialize>::deserialize(deserializer)?;
    Ok(value.map(|Int32(n)| n))
}

/// `present` of an int32 field: absent is `None`, `null` is `Some(None)`.
pub fn present_int32<'de, D>(deserializer: D) -> Result<Option<Option<i32>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    opt_int32(deserializer).map(Some)
}

/// Deserializes a field where `null` says something (clear it) and absence
/// says nothing: with `#[serde(default)]`, absent is `None`, `null` is
/// `Some(None)`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int32_fields_take_whole_numbers_however_written() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "opt_int32")]
            n: Option<i32>,
        }
        let n = |json: &str| serde_json::from_str::<Body>(json).map(|b| b.n);
        assert_eq!(n(r#"{"n": 7}"#).unwrap(), Some(7));
        assert_eq!(n(r#"{"n": -7.0}"#).unwrap(), Some(-7));
        assert_eq!(n(r#"{"n": null}"#).unwrap(), None);
        assert_eq!(n("{}").unwrap(), None);
        assert_eq!(n(r#"{"n": 2147483647}"#).unwrap(), Some(i32::MAX));
        assert!(n(r#"{"n": 2147483648}"#).is_err());
        assert!(n(r#"{"n": 7.5}"#).is_err());
        assert!(n(r#"{"n": "7"}"#).is_err());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(check_text(&"é".repeat(5), Len::between(1, 5)).is_ok());
        assert_eq!(
            check_text(&"é".repeat(6), Len::between(1, 5)).unwrap_err(),
            "must be at most 5 characters long"
        );
    }

    #[test]
    fn empty_is_rejected_when_min_is_one() {
        assert_eq!(
            check_text("", Len::between(1, 5)).unwrap_err(),
            "must not be empty"
        );
    }

    #[test]
    fn collects_every_failure() {
        let mut check = Check::new();
        check.required::<String>("a", None);
        check.required_text("b", Some(String::new()), Len::between(1, 3));
        check.text("c", Some("ok".into()), Len::at_most(3));
        let errors = check.finish().unwrap_err();
        assert_eq!(errors.fields().keys().collect::<Vec<_>>(), ["a", "b"]);
    }
}
