/** The plots' colours. */

/**
 * Viridis in eight steps: ordered, readable in grey and by colour-blind
 * readers. Low values dark purple, high values yellow.
 */
export const VIRIDIS = ['#440154', '#46327e', '#365c8d', '#277f8e', '#1fa187', '#4ac16d', '#a0da39', '#fde725'];

/** The colour of plain (uncoloured) points and bars. */
export const PLAIN = '#0b5cad';
