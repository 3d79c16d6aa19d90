export type Tab = 'Results' | 'Captions' | 'Archives' | 'Models' | 'Tuning' | 'Settings';
