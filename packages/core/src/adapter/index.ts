export { loadPeer, type PeerRequire } from './peer.js';
