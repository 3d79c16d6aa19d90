import type { KestrelClient } from '@contract/client';
import type { PickPurpose } from '@contract/schema';

/** A file or folder the user chose in the desktop app's native picker: the grant stands in for its path. */
export interface Picked {
  grant: string;
  label: string;
}

/**
 * Whether this window has a native picker: under Electron the renderer never names a file, it
 * passes grants from the picker; in a browser the user types a path on the machine running Kestrel.
 */
export function canPick(): boolean {
  return !!window.kestrel;
}

/** Opens the native picker for a purpose; null when the user closed it without choosing. */
export async function pick(client: KestrelClient, purpose: PickPurpose): Promise<Picked | null> {
  const result = await client.call('dialog.pick', { purpose });
  return 'cancelled' in result ? null : result;
}
