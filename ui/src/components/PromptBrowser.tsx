// The prompt browser: search over names and content, a folder tree, label badges, and the
// "New prompt" dialog.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { PromptKind, PromptListing } from '../api/generated';
import { useApi, errorText } from './context';
import { baseName, buildTree, labelBadges, type FolderNode } from '../lib/tree';
import { FormDialog } from './Dialog';
import { LabelBadge, useProtectedLabels } from './labels';
import { useCommand } from './useCommand';

interface Props {
  selected: string | null;
  onOpen: (name: string) => void;
  /** A prompt was just created here (opened like onOpen, with the cursor in its editor). */
  onCreated?: (name: string) => void;
  refreshKey: number;
  searchRef: React.RefObject<HTMLInputElement | null>;
}

export function Badges({ labels }: { labels: Record<string, number | undefined> }) {
  const protectedLabels = useProtectedLabels();
  return (
    <span className="badges">
      {labelBadges(labels, protectedLabels).map((b) => (
        <LabelBadge key={b.label} label={b.label} version={b.version} />
      ))}
    </span>
  );
}

function Folder({
  node,
  selected,
  onOpen,
  depth,
}: {
  node: FolderNode;
  selected: string | null;
  onOpen: (name: string) => void;
  depth: number;
}) {
  const [open, setOpen] = useState(true);
  const items = (
    <ul className="tree" role={depth === 0 ? 'tree' : 'group'} aria-label={depth === 0 ? 'Prompts' : undefined}>
      {node.folders.map((f) => (
        <Folder key={f.path} node={f} selected={selected} onOpen={onOpen} depth={depth + 1} />
      ))}
      {node.prompts.map((p) => (
        <li key={p.name} role="treeitem" aria-selected={p.name === selected}>
          <button
            type="button"
            className={`tree-prompt${p.name === selected ? ' is-selected' : ''}`}
            onClick={() => onOpen(p.name)}
            aria-label={p.name}
            aria-description={p.has_changes ? 'has draft changes not saved as a version' : undefined}
            title={p.description || p.name}
          >
            <span className="tree-prompt__name">
              {baseName(p.name)}
              {p.has_changes ? <span className="dot" title="Draft changes not saved as a version" /> : null}
            </span>
            <span className="tree-prompt__meta">
              <span className="kind">{p.kind}</span>
              {p.latest ? <span className="muted">v{p.latest}</span> : <span className="muted">draft</span>}
              <Badges labels={p.labels} />
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
  if (depth === 0) return items;
  return (
    <li role="treeitem" aria-expanded={open} aria-selected={false}>
      <button type="button" className="tree-folder" onClick={() => setOpen(!open)} aria-label={`Folder ${node.path}`}>
        <span aria-hidden="true">{open ? '▾' : '▸'}</span> {node.name}/
      </button>
      {open ? items : null}
    </li>
  );
}

function SearchResults({ results, onOpen, selected }: { results: PromptListing[]; onOpen: (n: string) => void; selected: string | null }) {
  if (results.length === 0) return <p className="muted pad">No prompt matches.</p>;
  return (
    <ul className="tree" aria-label="Search results">
      {results.map((p) => (
        <li key={p.name}>
          <button
            type="button"
            className={`tree-prompt${p.name === selected ? ' is-selected' : ''}`}
            onClick={() => onOpen(p.name)}
            aria-label={p.name}
          >
            <span className="tree-prompt__name">{p.name}</span>
            <span className="tree-prompt__meta">
              <span className="kind">{p.kind}</span>
              <Badges labels={p.labels} />
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}

export function PromptBrowser({ selected, onOpen, onCreated = onOpen, refreshKey, searchRef }: Props) {
  const { call } = useApi();
  const listing = useCommand('list_prompts', {}, refreshKey);
  const prompts = listing.data;
  const error = listing.error;
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<PromptListing[] | null>(null);
  // Kept apart from the listing's error: it belongs to the query and goes with it.
  const [searchError, setSearchError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const searchSeq = useRef(0);

  useEffect(() => {
    const q = query.trim();
    if (!q) {
      searchSeq.current++;
      setResults(null);
      setSearchError(null);
      return;
    }
    const seq = ++searchSeq.current;
    const t = setTimeout(() => {
      call('search_prompts', { query: q })
        .then((r) => {
          if (seq !== searchSeq.current) return;
          setResults(r);
          setSearchError(null);
        })
        .catch((e) => seq === searchSeq.current && setSearchError(errorText(e)));
    }, 120);
    return () => clearTimeout(t);
  }, [call, query, refreshKey]);

  const tree = useMemo(() => (prompts ? buildTree(prompts) : null), [prompts]);

  return (
    <nav className="browser" aria-label="Prompt browser">
      <div className="browser__top">
        <input
          ref={searchRef}
          type="search"
          className="search"
          placeholder="Search…"
          title="Search names and text (Ctrl+K)"
          aria-label="Search prompts"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && query) {
              e.preventDefault();
              setQuery('');
            }
          }}
        />
        <button type="button" className="btn btn--primary" onClick={() => setCreating(true)}>
          New prompt
        </button>
      </div>
      <div className="browser__list">
        {error || searchError ? (
          <p role="alert" className="error pad">
            {searchError ?? error}
          </p>
        ) : null}
        {results ? (
          <SearchResults results={results} onOpen={onOpen} selected={selected} />
        ) : tree ? (
          prompts && prompts.length === 0 ? (
            <div className="empty pad">
              <p>No prompts yet.</p>
              <p className="muted">Create one with “New prompt”.</p>
            </div>
          ) : (
            <Folder node={tree} selected={selected} onOpen={onOpen} depth={0} />
          )
        ) : !error ? (
          <p className="muted pad" aria-busy="true">
            Loading prompts…
          </p>
        ) : null}
      </div>
      {creating ? (
        <NewPromptDialog
          onClose={() => setCreating(false)}
          onCreated={(name) => {
            setCreating(false);
            onCreated(name);
          }}
        />
      ) : null}
    </nav>
  );
}

function NewPromptDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (name: string) => void }) {
  const { call, refresh } = useApi();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<PromptKind>('text');
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const submit = async () => {
    const created = await call('create_prompt', {
      name: name.trim(),
      kind,
      description: description.trim(),
      tags: splitTags(tags),
    });
    refresh();
    onCreated(created.prompt.name);
  };

  return (
    <FormDialog title="New prompt" onClose={onClose} onSubmit={submit} submitLabel="Create" blocked={!name.trim()}>
      <label>
        Name
        <input
          data-autofocus
          spellCheck={false}
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="support/refund-reply"
          aria-describedby="new-prompt-hint"
        />
      </label>
      <p id="new-prompt-hint" className="hint">
        Lowercase; folders separated by “/”.
      </p>
      <fieldset className="radios">
        <legend>Kind</legend>
        <label>
          <input type="radio" name="kind" checked={kind === 'text'} onChange={() => setKind('text')} /> Text
        </label>
        <label>
          <input type="radio" name="kind" checked={kind === 'chat'} onChange={() => setKind('chat')} /> Chat
        </label>
      </fieldset>
      <label>
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label>
        Tags
        <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="support, email" />
      </label>
    </FormDialog>
  );
}

export function splitTags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}
