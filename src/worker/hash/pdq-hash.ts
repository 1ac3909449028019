// The hex and Hamming helpers live with the PdqHash type in domain/; re-exported for hash/ callers.
export { hammingDistance, isPdqHex, pdqFromHex, pdqToHex, popcount16 } from '../../domain/pdq.js';
