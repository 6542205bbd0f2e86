//! Which model providers this registry knows: a name (what a version's model settings say),
//! the API dialect, the base URL and the price table. API keys are never here: they live in
//! the OS keyring (see crates/keys), bound to the provider's name and base URL.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::store::settings;

const SETTING: &str = "eval.providers";

/// A model's price, in currency units per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

/// One provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ProviderSettings {
    /// What versions name in their model settings (`openai`, `anthropic`, `ollama`).
    pub name: String,
    /// `openai` (Chat Completions: OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio) or
    /// `anthropic` (Messages).
    pub kind: String,
    pub base_url: String,
    #[serde(default)]
    pub prices: BTreeMap<String, ModelPrice>,
    /// Per request, seconds (60 when unset).
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// The providers a registry starts with; people change their URLs (a proxy, a local server)
/// or add others.
pub fn builtin_providers() -> Vec<ProviderSettings> {
    vec![
        ProviderSettings {
            name: "openai".into(),
            kind: "openai".into(),
            base_url: "https://api.openai.com/v1".into(),
            prices: BTreeMap::new(),
            timeout_s: None,
        },
        ProviderSettings {
            name: "anthropic".into(),
            kind: "anthropic".into(),
            base_url: "https://api.anthropic.com".into(),
            prices: BTreeMap::new(),
            timeout_s: None,
        },
    ]
}

fn check(p: &ProviderSettings) -> Result<()> {
    let name_ok = !p.name.is_empty()
        && p.name.len() <= 40
        && p.name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !name_ok {
        return Err(Error::bad(format!(
            "provider name {:?} is not allowed: use 1 to 40 of a-z, 0-9, '-', '_' and '.'",
            p.name
        )));
    }
    if p.kind != "openai" && p.kind != "anthropic" {
        return Err(Error::bad(format!(
            "provider {}: kind must be openai (Chat Completions) or anthropic (Messages), not {:?}",
            p.name, p.kind
        )));
    }
    let url = p.base_url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
        return Err(Error::bad(format!(
            "provider {}: the base URL must start with http:// or https:// (got {:?})",
            p.name, p.base_url
        )));
    }
    for (model, price) in &p.prices {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        if !ok(price.input_per_mtok) || !ok(price.output_per_mtok) {
            return Err(Error::bad(format!(
                "provider {}: the price of {model} must be numbers ≥ 0",
                p.name
            )));
        }
    }
    if p.timeout_s == Some(0) {
        return Err(Error::bad(format!(
            "provider {}: the timeout must be at least 1 second",
            p.name
        )));
    }
    Ok(())
}

impl Registry {
    /// The configured providers (the built-in ones until someone changes them), by name.
    pub fn providers(&self) -> Result<Vec<ProviderSettings>> {
        match settings::get(self.connection(), SETTING)? {
            None => Ok(builtin_providers()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                Error::Integrity(format!("the stored provider settings do not parse: {e}"))
            }),
        }
    }

    /// The provider a version's model settings name.
    pub fn provider(&self, name: &str) -> Result<ProviderSettings> {
        let all = self.providers()?;
        let known: Vec<String> = all.iter().map(|p| p.name.clone()).collect();
        all.into_iter().find(|p| p.name == name).ok_or_else(|| {
            Error::NotFound(format!(
                "no provider named {name:?} is configured (known: {}); add it in Settings → \
                 Model providers or with `promptdesk provider set {name} --kind openai --base-url URL`",
                known.join(", ")
            ))
        })
    }

    /// Adds or replaces a provider.
    pub fn set_provider(&mut self, provider: ProviderSettings) -> Result<Vec<ProviderSettings>> {
        let mut provider = provider;
        provider.base_url = provider.base_url.trim().trim_end_matches('/').to_string();
        check(&provider)?;
        let mut all = self.providers()?;
        all.retain(|p| p.name != provider.name);
        all.push(provider);
        all.sort_by(|a, b| a.name.cmp(&b.name));
        self.save_providers(&all)?;
        Ok(all)
    }

    pub fn remove_provider(&mut self, name: &str) -> Result<Vec<ProviderSettings>> {
        let mut all = self.providers()?;
        let before = all.len();
        all.retain(|p| p.name != name);
        if all.len() == before {
            return Err(Error::NotFound(format!(
                "no provider named {name:?} is configured"
            )));
        }
        self.save_providers(&all)?;
        Ok(all)
    }

    fn save_providers(&mut self, all: &[ProviderSettings]) -> Result<()> {
        let text = serde_json::to_string(all).expect("providers serialise");
        self.write(|tx, _| settings::set(tx, SETTING, &text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_start_builtin_and_are_checked_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut reg, _) = Registry::init(&dir.path().join("r.db")).unwrap();
        let names: Vec<String> = reg
            .providers()
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["openai", "anthropic"]);
        let local = ProviderSettings {
            name: "ollama".into(),
            kind: "openai".into(),
            base_url: "http://localhost:11434/v1/".into(),
            prices: BTreeMap::new(),
            timeout_s: Some(120),
        };
        reg.set_provider(local).unwrap();
        assert_eq!(
            reg.provider("ollama").unwrap().base_url,
            "http://localhost:11434/v1"
        );
        let e = reg
            .set_provider(ProviderSettings {
                kind: "gemini".into(),
                ..reg.provider("ollama").unwrap()
            })
            .unwrap_err();
        assert!(e.to_string().contains("kind must be openai"), "{e}");
        let e = reg.provider("nope").unwrap_err().to_string();
        assert!(e.contains("known: anthropic, ollama, openai"), "{e}");
        reg.remove_provider("openai").unwrap();
        assert!(reg.provider("openai").is_err());
    }
}
