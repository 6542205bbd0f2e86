// Builds the folder tree of the prompt browser from the flat, sorted listing.
import type { PromptListing } from '../api/generated';
import { DEFAULT_PROTECTED, labelOrder } from './release';

export interface FolderNode {
  /** Full folder path without a trailing slash ('' for the root). */
  path: string;
  name: string;
  folders: FolderNode[];
  prompts: PromptListing[];
}

export function buildTree(prompts: readonly PromptListing[]): FolderNode {
  const root: FolderNode = { path: '', name: '', folders: [], prompts: [] };
  const index = new Map<string, FolderNode>([['', root]]);
  const folderFor = (path: string): FolderNode => {
    const existing = index.get(path);
    if (existing) return existing;
    const cut = path.lastIndexOf('/');
    const parent = folderFor(cut < 0 ? '' : path.slice(0, cut));
    const node: FolderNode = { path, name: path.slice(cut + 1), folders: [], prompts: [] };
    parent.folders.push(node);
    index.set(path, node);
    return node;
  };
  for (const p of prompts) {
    const cut = p.name.lastIndexOf('/');
    folderFor(cut < 0 ? '' : p.name.slice(0, cut)).prompts.push(p);
  }
  const sort = (node: FolderNode): void => {
    node.folders.sort((a, b) => a.name.localeCompare(b.name));
    node.prompts.sort((a, b) => a.name.localeCompare(b.name));
    node.folders.forEach(sort);
  };
  sort(root);
  return root;
}

/** The last path segment: what the tree shows for a prompt inside its folder. */
export function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/** Label badges in a stable order: protected labels first, then staging, then the rest by name. */
export function labelBadges(
  labels: Record<string, number | undefined>,
  protectedLabels: ReadonlySet<string> = DEFAULT_PROTECTED,
): { label: string; version: number }[] {
  return Object.entries(labels)
    .filter((e): e is [string, number] => typeof e[1] === 'number' && e[0] !== 'latest')
    .map(([label, version]) => ({ label, version }))
    .sort((a, b) => labelOrder(a.label, b.label, protectedLabels));
}
