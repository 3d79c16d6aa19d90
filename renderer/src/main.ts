import { mount } from 'svelte';
import '@fontsource-variable/inter';
import 'leaflet/dist/leaflet.css';
import './styles.css';
import App from './App.svelte';
import { connect } from './lib/client';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target, props: { client: connect() } });
