export type Tab = 'Results' | 'Archives' | 'Models' | 'Settings' | 'About';
