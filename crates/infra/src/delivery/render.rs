//! From an outbox email payload (`{"to", "template", "data"}`) to the subject and
//! plain-text body that are sent.

use chrono::TimeDelta;
use domain::VerificationPurpose;
use domain::auth::INVITATION_LIFETIME;
use serde_json::Value;

/// An email ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedEmail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body. It carries the token: never log it in production.
    pub body: String,
}

/// A payload that cannot become an email; retrying will not help until the
/// code or the row changes, so it is logged at error.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The payload has no `to` address.
    #[error("the payload has no `to` address")]
    MissingRecipient,
    /// `template` is not one this version knows.
    #[error("unknown email template `{0}`")]
    UnknownTemplate(String),
    /// The template needs a value that `data` lacks.
    #[error("the payload's data has no `{0}`")]
    MissingData(&'static str),
}

/// Renders the email an outbox payload asks for.
pub fn render(payload: &Value) -> Result<RenderedEmail, RenderError> {
    let to = payload["to"]
        .as_str()
        .filter(|to| !to.is_empty())
        .ok_or(RenderError::MissingRecipient)?;
    let data = &payload["data"];
    let field = |name: &'static str| data[name].as_str().ok_or(RenderError::MissingData(name));
    let template = payload["template"].as_str().unwrap_or_default();
    // Lines stay under 78 characters, so plain ASCII bodies go out as 7bit text.
    let (subject, body) = match template {
        "email_verification" => {
            let greeting = greeting(data["firstName"].as_str());
            let token = field("token")?;
            let lifetime = duration(VerificationPurpose::EmailVerification.lifetime());
            (
                "Confirm your email address".to_owned(),
                format!(
                    "{greeting}\n\n\
                     Welcome to Groundwork. Confirm your email address with this token:\n\n\
                     \x20   {token}\n\n\
                     It can be used once, within {lifetime}.\n\
                     If you did not sign up, ignore this email.\n"
                ),
            )
        }
        "password_reset" => {
            let token = field("token")?;
            let lifetime = duration(VerificationPurpose::PasswordReset.lifetime());
            (
                "Reset your password".to_owned(),
                format!(
                    "Hello,\n\n\
                     Someone asked to reset the password of your Groundwork account.\n\
                     Choose a new one with this token:\n\n\
                     \x20   {token}\n\n\
                     It can be used once, within {lifetime}. If it was not you, ignore\n\
                     this email: your password stays as it is.\n"
                ),
            )
        }
        "invitation" => {
            let token = field("token")?;
            let organization = field("organizationName")?;
            let role = field("role")?;
            let lifetime = duration(INVITATION_LIFETIME);
            (
                format!("You are invited to join {organization} on Groundwork"),
                format!(
                    "Hello,\n\n\
                     You are invited to join {organization} on Groundwork as {article} {role}.\n\
                     Sign in with this email address and accept with this token:\n\n\
                     \x20   {token}\n\n\
                     The invitation is valid for {lifetime}.\n\
                     If you do not know {organization}, ignore this email.\n",
                    article = article(role)
                ),
            )
        }
        "webhook_disabled" => {
            let url = field("url")?;
            let webhook = field("webhookId")?;
            let why = match field("reason")? {
                "gone" => "its receiver answered 410 Gone".to_owned(),
                _ => format!(
                    "every delivery to it failed for {} days",
                    data["days"].as_u64().unwrap_or(5)
                ),
            };
            (
                "A webhook of your organization was disabled".to_owned(),
                format!(
                    "Hello,\n\n\
                     Groundwork disabled the webhook {webhook} because {why}:\n\n\
                     \x20   {url}\n\n\
                     No more events are sent to it. Fix the receiver, then turn the\n\
                     webhook on again (PATCH it with enabled: true); its delivery log\n\
                     shows what the receiver answered.\n"
                ),
            )
        }
        other => return Err(RenderError::UnknownTemplate(other.to_owned())),
    };
    Ok(RenderedEmail {
        to: to.to_owned(),
        subject,
        body,
    })
}

fn greeting(first_name: Option<&str>) -> String {
    match first_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// "24 hours", "1 hour", "7 days".
fn duration(d: TimeDelta) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if d.num_hours() > 24 && d.num_hours() % 24 == 0 {
        plural(d.num_days(), "day")
    } else if d.num_minutes() % 60 == 0 {
        plural(d.num_hours(), "hour")
    } else {
        plural(d.num_minutes(), "minute")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_verification_email_greets_by_name_and_carries_the_token() {
        let email = render(&json!({
            "to": "ada@example.com",
            "template": "email_verification",
            "data": {"token": "tok-123", "firstName": "Ada"},
        }))
        .unwrap();
        assert_eq!(email.to, "ada@example.com");
        assert_eq!(email.subject, "Confirm your email address");
        assert!(email.body.starts_with("Hello Ada,"), "{}", email.body);
        assert!(email.body.contains("    tok-123\n"), "{}", email.body);
        assert!(email.body.contains("within 24 hours"), "{}", email.body);
    }

    #[test]
    fn a_reset_email_states_its_hour() {
        let email = render(&json!({
            "to": "ada@example.com",
            "template": "password_reset",
            "data": {"token": "tok"},
        }))
        .unwrap();
        assert_eq!(email.subject, "Reset your password");
        assert!(email.body.contains("within 1 hour."), "{}", email.body);
    }

    #[test]
    fn an_invitation_names_the_organization_and_role() {
        let email = render(&json!({
            "to": "grace@example.com",
            "template": "invitation",
            "data": {"token": "tok", "organizationName": "Acme Inc", "role": "admin"},
        }))
        .unwrap();
        assert_eq!(
            email.subject,
            "You are invited to join Acme Inc on Groundwork"
        );
        assert!(email.body.contains("as an admin."), "{}", email.body);
        assert!(email.body.contains("valid for 7 days"), "{}", email.body);
    }

    #[test]
    fn every_line_fits_plain_7bit_text() {
        let data = json!({"token": "x".repeat(43), "firstName": "Ada", "organizationName": "Acme Inc", "role": "member"});
        for template in ["email_verification", "password_reset", "invitation"] {
            let email =
                render(&json!({"to": "a@b.co", "template": template, "data": data})).unwrap();
            let longest = email.body.lines().map(str::len).max().unwrap_or(0);
            assert!(longest < 78, "{template}: a {longest}-character line");
        }
    }

    #[test]
    fn broken_payloads_say_what_is_missing() {
        let cases = [
            (
                json!({"template": "password_reset", "data": {"token": "t"}}),
                RenderError::MissingRecipient,
            ),
            (
                json!({"to": "a@b.co", "template": "newsletter", "data": {}}),
                RenderError::UnknownTemplate("newsletter".to_owned()),
            ),
            (
                json!({"to": "a@b.co", "template": "password_reset", "data": {}}),
                RenderError::MissingData("token"),
            ),
            (
                json!({"to": "a@b.co", "template": "invitation", "data": {"token": "t", "role": "member"}}),
                RenderError::MissingData("organizationName"),
            ),
        ];
        for (payload, expected) in cases {
            assert_eq!(render(&payload).unwrap_err(), expected, "{payload}");
        }
    }
}
