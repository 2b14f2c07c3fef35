// The app every bundler builds: the SDK from the installed package, as its README says. The
// gateway's URL and the service name come from the query string (known only at test time).
import { init } from '@rum/sdk';

const q = new URLSearchParams(location.search);
window.rum = init({
  endpoint: q.get('endpoint'),
  apiKey: 'dev',
  service: { name: q.get('service'), version: '1.0.0', environment: 'test' },
});
// One traced call to the page's own server.
window.ping = fetch('/api/ping').then((r) => r.json());
document.getElementById('out').textContent = 'started';
