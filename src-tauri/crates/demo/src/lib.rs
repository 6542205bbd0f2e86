//! The demo registry: a support team's refund reply, the shared refund policy it includes, and
//! a chat triage prompt, each with a few versions, sample inputs and labels. The README's run
//! command opens it; tests use it as a realistic fixture.
//!
//! The story it sets up for later workflows: `support/refund-reply@3` is in production and states
//! the policy (30 days, original payment method) through the `policies/refunds` include; version
//! 4, "shorter, friendlier", drops the include and with it the policy, and sits in staging.

use promptdesk_content::{Body, ChatMessage, ModelSettings, PromptKind, VarType, Variable};
use serde_json::{json, Map, Value};

use promptdesk_core::model::{DraftContent, Samples};
use promptdesk_core::refs::Ref;
use promptdesk_core::registry::{NewPrompt, Registry};
use promptdesk_core::Result;

fn var(
    name: &str,
    ty: VarType,
    required: bool,
    default: Option<Value>,
    description: &str,
) -> Variable {
    Variable {
        name: name.into(),
        ty,
        required,
        default,
        description: Some(description.into()),
    }
}

fn model(temperature: f64) -> ModelSettings {
    ModelSettings {
        provider: "openai".into(),
        model: "gpt-4o-mini".into(),
        parameters: [
            ("temperature".to_string(), json!(temperature)),
            ("max_tokens".to_string(), json!(400)),
        ]
        .into(),
    }
}

fn inputs(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn text(template: &str) -> Body {
    Body::Text {
        template: template.into(),
    }
}

/// Fills an empty registry with the demo. Acts as three people (ana writes, ben reviews and
/// releases, cho keeps the policy), then restores the registry's actor.
pub fn seed(reg: &mut Registry) -> Result<()> {
    // The demo's people sign their approvals and releases with keys made up for the occasion;
    // their private halves are forgotten when seeding ends.
    let caller_signer = reg.take_signer();
    let out = seed_stories(reg);
    if let Some(s) = caller_signer {
        reg.set_signer(s);
    } else {
        reg.take_signer();
    }
    out
}

fn seed_stories(reg: &mut Registry) -> Result<()> {
    let me = reg.actor().to_string();

    reg.set_actor("cho");
    reg.create_prompt(
        "policies/refunds",
        PromptKind::Text,
        NewPrompt {
            description: "The refund policy every support reply must state".into(),
            tags: vec!["policy".into(), "support".into()],
            ..NewPrompt::default()
        },
    )?;
    let policy = |template: &str| DraftContent {
        body: text(template),
        variables: vec![],
        model: ModelSettings::default(),
    };
    reg.save_draft(
        "policies/refunds",
        policy("Refunds are accepted within 30 days of purchase."),
    )?;
    reg.commit("policies/refunds", "First version of the refund policy")?;
    reg.save_draft(
        "policies/refunds",
        policy(
            "Refunds are accepted within 30 days of purchase and are paid back to the original payment method.",
        ),
    )?;
    reg.commit(
        "policies/refunds",
        "State that refunds go back to the original payment method",
    )?;
    ship(
        reg,
        "policies/refunds",
        2,
        "Policy review 2026-10: name the payment method",
    )?;

    reg.set_actor("ana");
    let variables = vec![
        var(
            "customer_name",
            VarType::String,
            true,
            None,
            "The customer's first name",
        ),
        var(
            "order_id",
            VarType::String,
            true,
            None,
            "Order number as shown on the receipt",
        ),
        var(
            "days_since_purchase",
            VarType::Number,
            true,
            None,
            "Days between purchase and this request",
        ),
        var(
            "product",
            VarType::String,
            false,
            Some(json!("your order")),
            "What they bought",
        ),
    ];
    let mut samples = Samples::new();
    samples.insert(
        "within-window".into(),
        inputs(json!({"customer_name": "Ada", "order_id": "A-1042", "days_since_purchase": 12, "product": "the blue kettle"})),
    );
    samples.insert(
        "late-request".into(),
        inputs(json!({"customer_name": "Grace", "order_id": "B-2203", "days_since_purchase": 45})),
    );
    reg.create_prompt(
        "support/refund-reply",
        PromptKind::Text,
        NewPrompt {
            description: "Reply to a customer who asks for a refund".into(),
            tags: vec!["support".into(), "refunds".into()],
            draft: None,
            samples,
        },
    )?;
    let reply = |template: &str, temperature: f64| DraftContent {
        body: text(template),
        variables: variables.clone(),
        model: model(temperature),
    };
    reg.save_draft(
        "support/refund-reply",
        reply(
            "Hello {{ customer_name }},\n\nThank you for contacting us about order {{ order_id }}.\n{% include \"policies/refunds\" %}\n\n{% if days_since_purchase <= 30 %}Your request is within the refund window, so we have started your refund for {{ product }}.{% else %}Unfortunately your purchase was {{ days_since_purchase }} days ago, which is outside the refund window.{% endif %}\n\nBest regards,\nThe support team",
            0.4,
        ),
    )?;
    reg.commit("support/refund-reply", "First refund reply")?;
    reg.save_draft(
        "support/refund-reply",
        reply(
            "Hello {{ customer_name }},\n\nThank you for contacting us about order {{ order_id }}.\n{% include \"policies/refunds\" %}\n\n{% if days_since_purchase <= 30 %}Your request is within the refund window, so we have started your refund for {{ product }}. You will see it within 5 business days.{% else %}Unfortunately your purchase was {{ days_since_purchase }} days ago, which is outside the refund window. We can offer store credit instead.{% endif %}\n\nBest regards,\nThe support team",
            0.3,
        ),
    )?;
    reg.commit(
        "support/refund-reply",
        "Say when the money arrives; offer store credit when late",
    )?;
    reg.save_draft(
        "support/refund-reply",
        reply(
            "Hello {{ customer_name }},\n\nThank you for contacting us about order {{ order_id }}.\n{% include \"policies/refunds\" %}\n\n{% if days_since_purchase <= 30 %}Your request is within the refund window, so we have started your refund for {{ product }}. You will see it within 5 business days.{% else %}Unfortunately your purchase was {{ days_since_purchase }} days ago, which is outside the refund window. We can offer store credit instead.{% endif %}\n\nIf anything is unclear, just reply to this email.\n\nBest regards,\nThe support team",
            0.3,
        ),
    )?;
    reg.commit(
        "support/refund-reply",
        "Invite the customer to reply with questions",
    )?;
    reg.save_draft(
        "support/refund-reply",
        reply(
            "Hi {{ customer_name }}! {% if days_since_purchase <= 30 %}Good news: your refund for {{ product }} is on its way.{% else %}Sorry, order {{ order_id }} is too old for a refund.{% endif %} Anything else? Just reply. 😊",
            0.7,
        ),
    )?;
    reg.commit("support/refund-reply", "Shorter, friendlier reply")?;

    ship(
        reg,
        "support/refund-reply",
        3,
        "Weekly release: state the refund policy",
    )?;
    reg.set_actor("ben");
    reg.set_label(
        "support/refund-reply",
        Some(&Ref::Number(4)),
        "staging",
        "try the shorter reply",
    )?;

    reg.set_actor("ana");
    let triage_vars = vec![
        var(
            "message",
            VarType::String,
            true,
            None,
            "What the customer wrote",
        ),
        var(
            "channel",
            VarType::String,
            false,
            Some(json!("email")),
            "email, chat or phone",
        ),
        var(
            "categories",
            VarType::List,
            false,
            Some(json!(["refund", "shipping", "account", "other"])),
            "Allowed categories",
        ),
    ];
    let mut triage_samples = Samples::new();
    triage_samples.insert(
        "refund-email".into(),
        inputs(json!({"message": "I want my money back for order A-1042, the kettle leaks."})),
    );
    reg.create_prompt(
        "support/triage",
        PromptKind::Chat,
        NewPrompt {
            description: "Sort an incoming support message into a category".into(),
            tags: vec!["support".into()],
            draft: None,
            samples: triage_samples,
        },
    )?;
    let triage = |system: &str| DraftContent {
        body: Body::Chat {
            messages: vec![
                ChatMessage {
                    role: "system".into(),
                    template: system.into(),
                },
                ChatMessage {
                    role: "user".into(),
                    template: "Channel: {{ channel }}\nMessage: {{ message }}".into(),
                },
            ],
        },
        variables: triage_vars.clone(),
        model: model(0.0),
    };
    reg.save_draft(
        "support/triage",
        triage("Classify the customer's message into one of: {{ categories | join(\", \") }}. Answer with the category only."),
    )?;
    reg.commit("support/triage", "First triage prompt")?;
    reg.save_draft(
        "support/triage",
        triage("You sort support messages. Classify the message into exactly one of: {{ categories | join(\", \") }}.\nAnswer with the category only, in lowercase."),
    )?;
    reg.commit("support/triage", "Ask for exactly one lowercase category")?;
    ship(
        reg,
        "support/triage",
        2,
        "First release of the triage prompt",
    )?;

    seed_suite(reg)?;
    reg.set_actor(me);
    Ok(())
}

/// The refund reply's regression suite: what every reply must say. Version 3 (production)
/// passes it; version 4, the "shorter, friendlier" reply that dropped the policy, fails it.
fn seed_suite(reg: &mut Registry) -> Result<()> {
    use promptdesk_core::eval::assertions::parse_short;
    use promptdesk_core::eval::CaseInput;
    reg.set_actor("ana");
    let case =
        |description: &str, vars: Value, asserts: &[&str], expected: Option<&str>| CaseInput {
            description: description.into(),
            vars: vars.as_object().cloned().unwrap_or_default(),
            expected: expected.map(String::from),
            assertions: asserts
                .iter()
                .map(|a| parse_short(a).expect("demo assertions parse"))
                .collect(),
            tags: vec!["refunds".into()],
        };
    let cases = vec![
        case(
            "within the window: states the policy and starts the refund",
            json!({"customer_name": "Ada", "order_id": "A-1001", "days_since_purchase": 12, "product": "headphones"}),
            &[
                "icontains: within 30 days",
                "contains: original payment method",
                "contains: Ada",
            ],
            None,
        ),
        case(
            "outside the window: says why and offers store credit",
            json!({"customer_name": "Grace", "order_id": "B-2203", "days_since_purchase": 45, "product": "a kettle"}),
            &[
                "contains: outside the refund window",
                "icontains: store credit",
                "icontains: within 30 days",
            ],
            None,
        ),
        case(
            "greets the customer by name",
            json!({"customer_name": "Lin", "order_id": "C-3300", "days_since_purchase": 3, "product": "a lamp"}),
            &["contains: Lin", "not-icontains: as an ai"],
            None,
        ),
    ];
    reg.create_suite(
        "support/refund-reply",
        "regression",
        "What every refund reply must say, whatever its tone",
    )?;
    reg.add_cases("support/refund-reply", "regression", cases, "", false)?;
    Ok(())
}

/// Releases `name@number` to production the way a team does: the current author asks for
/// review, ben (a reviewer, never the author) approves, and rita releases under the policy.
fn ship(reg: &mut Registry, name: &str, number: u32, changelog: &str) -> Result<()> {
    let author = reg.actor().to_string();
    let version = Some(Ref::Number(number));
    let review = reg.request_review(name, version.as_ref(), "production", changelog)?;
    reg.set_actor("ben");
    reg.set_signer(Box::new(demo_signer("ben")?));
    reg.comment(
        review.number,
        "Read it against the policy page; wording is right.",
        None,
        None,
    )?;
    reg.approve(review.number, "Approved")?;
    reg.set_actor("rita");
    reg.set_signer(Box::new(demo_signer("rita")?));
    reg.release(
        name,
        version.as_ref(),
        "production",
        promptdesk_core::release::ReleaseRequest {
            changelog,
            review: Some(review.number),
            ..Default::default()
        },
    )?;
    reg.set_actor(author);
    Ok(())
}

thread_local! {
    /// One throwaway key per demo person for the whole seeding.
    static DEMO_KEYS: std::cell::RefCell<std::collections::BTreeMap<String, [u8; 32]>> =
        Default::default();
}

fn demo_signer(person: &str) -> Result<promptdesk_core::signing::MemorySigner> {
    let known = DEMO_KEYS.with(|k| k.borrow().get(person).copied());
    let seed = match known {
        Some(seed) => seed,
        None => {
            let seed = promptdesk_core::signing::random_seed().map_err(|e| {
                promptdesk_core::Error::Io {
                    context: "making a demo signing key".into(),
                    source: std::io::Error::other(e),
                }
            })?;
            DEMO_KEYS.with(|k| k.borrow_mut().insert(person.to_string(), seed));
            seed
        }
    };
    Ok(promptdesk_core::signing::MemorySigner::from_seed(seed))
}
