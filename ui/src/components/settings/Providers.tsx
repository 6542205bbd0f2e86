// Settings → Model providers: where eval runs send their requests. A provider has a name (what
// versions' model settings say), an API dialect, a base URL and optional prices per model. Its
// API key goes to the key store and is never shown again: the list says only whether one is
// kept (or comes from the environment).
import { useEffect, useState } from 'react';
import type { ModelPrice, ProviderInfo, ProviderSettings } from '../../api/generated';
import { errorText, useApi } from '../context';
import { FormDialog } from '../Dialog';

interface PriceRow {
  model: string;
  input: string;
  output: string;
}

/** Prices as typed into the table, or the first problem. */
export function pricesFromRows(rows: readonly PriceRow[]): { prices: Record<string, ModelPrice> } | { error: string } {
  const prices: Record<string, ModelPrice> = {};
  for (const r of rows) {
    const model = r.model.trim();
    if (!model && !r.input.trim() && !r.output.trim()) continue;
    if (!model) return { error: 'A price needs the model it is for.' };
    if (model in prices) return { error: `${model} is priced twice.` };
    const input = Number(r.input);
    const output = Number(r.output);
    if (r.input.trim() === '' || !Number.isFinite(input) || input < 0) return { error: `${model}: the input price must be a number of 0 or more.` };
    if (r.output.trim() === '' || !Number.isFinite(output) || output < 0) return { error: `${model}: the output price must be a number of 0 or more.` };
    prices[model] = { input_per_mtok: input, output_per_mtok: output };
  }
  return { prices };
}

export function keyText(p: ProviderInfo): string {
  if (p.key_from_env) return 'from the environment';
  if (p.key_kept) return 'kept in your key store';
  if (p.key_problem) return `unknown: ${p.key_problem}`;
  return 'none';
}

export function ModelProviders() {
  const { call } = useApi();
  const [providers, setProviders] = useState<ProviderInfo[] | null>(null);
  const [editing, setEditing] = useState<ProviderInfo | 'new' | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    call('list_providers', {})
      .then(setProviders)
      .catch((e) => setMsg({ ok: false, text: errorText(e) }));
  }, [call]);

  const act = async (f: () => Promise<ProviderInfo[]>, done: string) => {
    setBusy(true);
    setMsg(null);
    try {
      setProviders(await f());
      setMsg({ ok: true, text: done });
    } catch (e) {
      setMsg({ ok: false, text: errorText(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel form" aria-labelledby="providers-heading">
      <h3 id="providers-heading">Model providers</h3>
      <p className="muted small">
        Where test suite runs send their requests: OpenAI’s Chat Completions (also Ollama, vLLM, llama.cpp, LM Studio) or
        Anthropic’s Messages. API keys go to your key store, never into the registry file, and are never shown again.
      </p>
      {providers === null ? (
        msg ? null : (
          <p className="muted small" aria-busy="true">
            Loading…
          </p>
        )
      ) : providers.length === 0 ? (
        <p className="muted small">No providers.</p>
      ) : (
        <table className="queue providers" aria-label="Model providers">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Base URL</th>
              <th>API key</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {providers.map((p) => (
              <tr key={p.settings.name}>
                <td className="mono">{p.settings.name}</td>
                <td>{p.settings.kind}</td>
                <td className="mono providers__url">{p.settings.base_url}</td>
                <td className="small">{keyText(p)}</td>
                <td className="providers__actions">
                  <button type="button" className="btn btn--small" aria-label={`Edit ${p.settings.name}`} onClick={() => setEditing(p)}>
                    Edit
                  </button>
                  <button
                    type="button"
                    className="btn btn--small"
                    aria-label={`Forget the API key of ${p.settings.name}`}
                    disabled={!p.key_kept || busy}
                    onClick={() =>
                      void act(() => call('set_provider', { provider: p.settings, forget_key: true }), `The API key of ${p.settings.name} is forgotten.`)
                    }
                  >
                    Forget key
                  </button>
                  <button
                    type="button"
                    className="btn btn--small"
                    aria-label={`Remove ${p.settings.name}`}
                    disabled={busy}
                    onClick={() => void act(() => call('remove_provider', { name: p.settings.name }), `Removed ${p.settings.name}.`)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="actions actions--start">
        <button type="button" className="btn" onClick={() => setEditing('new')} disabled={providers === null}>
          Add provider…
        </button>
      </div>
      {msg ? (
        <p role={msg.ok ? 'status' : 'alert'} className={msg.ok ? 'ok small' : 'error'}>
          {msg.text}
        </p>
      ) : null}
      {editing ? (
        <ProviderDialog
          existing={editing === 'new' ? null : editing}
          taken={(providers ?? []).map((p) => p.settings.name)}
          onClose={() => setEditing(null)}
          onSaved={(ps, text) => {
            setEditing(null);
            setProviders(ps);
            setMsg({ ok: true, text });
          }}
        />
      ) : null}
    </section>
  );
}

function ProviderDialog({
  existing,
  taken,
  onClose,
  onSaved,
}: {
  existing: ProviderInfo | null;
  taken: readonly string[];
  onClose: () => void;
  onSaved: (ps: ProviderInfo[], message: string) => void;
}) {
  const { call } = useApi();
  const s = existing?.settings;
  const [name, setName] = useState(s?.name ?? '');
  const [kind, setKind] = useState(s?.kind ?? 'openai');
  const [url, setUrl] = useState(s?.base_url ?? '');
  const [timeout, setTimeoutText] = useState(s?.timeout_s != null ? String(s.timeout_s) : '');
  const [prices, setPrices] = useState<PriceRow[]>(() =>
    Object.entries(s?.prices ?? {}).map(([model, p]) => ({ model, input: String(p.input_per_mtok), output: String(p.output_per_mtok) })),
  );
  const [apiKey, setApiKey] = useState('');

  const priced = pricesFromRows(prices);
  const t = Number(timeout);
  const timeoutOk = timeout.trim() === '' || (Number.isInteger(t) && t > 0);
  const problem =
    !name.trim() ? 'A provider needs a name.'
    : !existing && taken.includes(name.trim()) ? `There is a provider named ${name.trim()} already: edit it instead.`
    : !url.trim() ? 'A provider needs its base URL.'
    : !timeoutOk ? 'The timeout is a whole number of seconds.'
    : 'error' in priced ? priced.error
    : null;

  const submit = async () => {
    if (!('prices' in priced)) return;
    const provider: ProviderSettings = {
      name: name.trim(),
      kind,
      base_url: url.trim(),
      prices: priced.prices,
      timeout_s: timeout.trim() ? t : null,
    };
    const key = apiKey.trim();
    const ps = await call('set_provider', { provider, ...(key ? { api_key: key } : {}) });
    setApiKey('');
    onSaved(ps, `Saved ${provider.name}${key ? '; its API key is kept in your key store' : ''}.`);
  };

  return (
    <FormDialog
      title={existing ? `Edit provider ${existing.settings.name}` : 'Add a model provider'}
      onClose={onClose}
      onSubmit={submit}
      submitLabel="Save provider"
      blocked={problem !== null}
      submitDescribedBy="provider-problem"
      wide
      after={
        <p id="provider-problem" className={`small ${problem ? 'error' : 'muted'}`}>
          {problem ?? ''}
        </p>
      }
    >
      <div className="grid2">
        <label>
          Name
          <input
            data-autofocus={existing ? undefined : true}
            value={name}
            disabled={existing !== null}
            onChange={(e) => setName(e.target.value)}
            placeholder="ollama"
            spellCheck={false}
          />
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="openai">openai (Chat Completions)</option>
            <option value="anthropic">anthropic (Messages)</option>
          </select>
        </label>
      </div>
      <label>
        Base URL
        <input
          data-autofocus={existing ? true : undefined}
          className="mono"
          type="url"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          placeholder="http://127.0.0.1:11434/v1"
          spellCheck={false}
        />
      </label>
      <label>
        Timeout per request (seconds)
        <input className="num-input" value={timeout} onChange={(e) => setTimeoutText(e.target.value)} placeholder="60" aria-invalid={!timeoutOk} />
      </label>
      <label>
        API key
        <input
          type="password"
          className="mono"
          value={apiKey}
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => setApiKey(e.target.value)}
          placeholder={existing?.key_kept ? 'A key is kept; type a new one to replace it' : 'Optional (local servers need none)'}
          aria-describedby="provider-key-hint"
        />
      </label>
      <p id="provider-key-hint" className="hint">
        {existing?.key_from_env
          ? 'A key from the environment is used first, whatever is kept here.'
          : 'Kept in your key store, bound to this provider’s base URL and to you; never shown again.'}
      </p>
      <fieldset className="fieldset">
        <legend>Prices per million tokens (optional, for cost figures and cost: assertions)</legend>
        {prices.length ? (
          <table className="vars" aria-label="Prices">
            <thead>
              <tr>
                <th>Model</th>
                <th>Input</th>
                <th>Output</th>
                <th className="vars__remove">
                  <span className="sr-only">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {prices.map((p, i) => {
                const set = (patch: Partial<PriceRow>) => setPrices((ps) => ps.map((x, j) => (j === i ? { ...x, ...patch } : x)));
                return (
                  <tr key={i}>
                    <td>
                      <input aria-label={`Model of price ${i + 1}`} value={p.model} onChange={(e) => set({ model: e.target.value })} spellCheck={false} />
                    </td>
                    <td>
                      <input aria-label={`Input price of ${p.model || `price ${i + 1}`}`} value={p.input} inputMode="decimal" onChange={(e) => set({ input: e.target.value })} />
                    </td>
                    <td>
                      <input aria-label={`Output price of ${p.model || `price ${i + 1}`}`} value={p.output} inputMode="decimal" onChange={(e) => set({ output: e.target.value })} />
                    </td>
                    <td>
                      <button
                        type="button"
                        className="btn btn--ghost btn--icon"
                        aria-label={`Remove the price of ${p.model || `price ${i + 1}`}`}
                        onClick={() => setPrices((ps) => ps.filter((_, j) => j !== i))}
                      >
                        ×
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
        <button type="button" className="btn btn--small" onClick={() => setPrices((ps) => [...ps, { model: '', input: '', output: '' }])}>
          Add a price
        </button>
      </fieldset>
    </FormDialog>
  );
}
