import type { DepictionEntry } from './depictions';

/** A molecule's 2D structure: the server's SVG as an image, its SMILES as alt text. */
export function Structure({ entry, smiles, width, height, className }: {
  entry: DepictionEntry | undefined;
  smiles: string;
  width: number;
  height: number;
  className?: string;
}) {
  const cls = `structure ${className ?? ''}`;
  if (!entry) {
    return <div className={`${cls} structure-loading`} aria-busy="true" aria-label="Drawing structure" {...sizeProps(width, height)} />;
  }
  if (!entry.url) {
    return (
      <div className={`${cls} structure-missing`} {...sizeProps(width, height)}>
        <span>No structure: {entry.error}</span>
      </div>
    );
  }
  return <img className={cls} src={entry.url} alt={entry.smiles || smiles || 'structure'} width={width} height={height} decoding="async" />;
}

// Sizes go through React's style prop (set via the CSSOM, allowed by the CSP).
function sizeProps(width: number, height: number) {
  return { style: { width: `${width}px`, height: `${height}px` } };
}
