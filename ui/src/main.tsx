// Entry point: pick the transport (Tauri IPC or HTTP) and mount the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { defaultClient } from './api/transport';
import './style.css';

const { call, transport } = defaultClient();
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App call={call} transport={transport.name} />
    </StrictMode>,
  );
}
