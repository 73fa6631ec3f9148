import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { defaultName, formatOf, guessSmilesColumn, guessUnit, numericColumns, parseDelimited, parsePreview, readHead, sniffDelimiter } from './preview';

describe('formatOf', () => {
  it('reads the format through .gz', () => {
    expect(formatOf('a.csv.gz')).toEqual({ format: 'csv', gzip: true });
    expect(formatOf('A.TSV')).toEqual({ format: 'csv', gzip: false });
    expect(formatOf('x.smi')).toEqual({ format: 'smiles', gzip: false });
    expect(formatOf('x.sdf.gz')).toEqual({ format: 'sdf', gzip: true });
    expect(formatOf('x.xlsx')).toBeNull();
    expect(defaultName('train.csv.gz')).toBe('train.csv');
  });
});

describe('CSV preview', () => {
  it('sniffs the delimiter outside quotes', () => {
    expect(sniffDelimiter('a\tb\tc')).toBe('\t');
    expect(sniffDelimiter('"a;b",c;d;e')).toBe(';');
    expect(sniffDelimiter('smiles')).toBe(',');
  });

  it('parses quotes, doubled quotes and line breaks in quotes', () => {
    expect(parseDelimited('a,b\n"x,1","say ""hi""\nthere"\n', ',', true)).toEqual([
      ['a', 'b'],
      ['x,1', 'say "hi"\nthere'],
    ]);
  });

  it('drops the partial last row of a cut-off file', () => {
    const p = parsePreview('csv', 'smiles,exp_mean [nM]\nCCO,12.5\nc1ccccc1,3', false);
    expect(p.header).toEqual(['smiles', 'exp_mean [nM]']);
    expect(p.rows).toEqual([['CCO', '12.5']]);
    expect(guessSmilesColumn(p.header)).toBe('smiles');
    expect(numericColumns(p)).toEqual(['exp_mean [nM]']);
  });

  it('takes an InChI column only when there is no SMILES column', () => {
    expect(guessSmilesColumn(['id', 'InChI'])).toBe('InChI');
    expect(guessSmilesColumn(['inchi', 'SMILES'])).toBe('SMILES');
  });

  it('keeps the last row of a whole file', () => {
    expect(parsePreview('csv', 'smiles\r\nCCO\r\nCCN', true).rows).toEqual([['CCO'], ['CCN']]);
  });
});

describe('SMILES and SDF previews', () => {
  it('splits SMILES from ids', () => {
    expect(parsePreview('smiles', 'CCO ethanol\n\nc1ccccc1 benzene ring\n', true).rows).toEqual([
      ['CCO', 'ethanol'],
      ['c1ccccc1', 'benzene ring'],
    ]);
  });

  it('reads titles and data fields of SD records', () => {
    const sdf = 'mol1\n  RDKit\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n> <IC50>\n12\n\n$$$$\nmol2\n\n\n  0  0\nM  END\n> <IC50>\n7\n\n$$$$\nmol3\n';
    const p = parsePreview('sdf', sdf, false);
    expect(p.header).toEqual(['title', 'IC50']);
    expect(p.rows).toEqual([
      ['mol1', '12'],
      ['mol2', '7'],
    ]);
  });
});

describe('activity units', () => {
  it('comes from the column name', () => {
    expect(guessUnit('exp_mean [nM]')).toBe('nM');
    expect(guessUnit('IC50 (uM)')).toBe('uM');
    expect(guessUnit('pKi')).toBe('p');
    expect(guessUnit('value')).toBe('nM');
  });
});

describe('readHead', () => {
  it('reads the start of a gzip file through DecompressionStream, stopping early', async () => {
    const rows = Array.from({ length: 20000 }, (_, i) => `C${'C'.repeat(i % 7)}O,${i}`).join('\n');
    const gz = gzipSync(`smiles,id\n${rows}\n`);
    const head = await readHead(new Blob([gz]), true);
    expect(head.text.startsWith('smiles,id\nCO,0\n')).toBe(true);
    expect(head.complete).toBe(false);
    const small = await readHead(new Blob([gzipSync('smiles\nCCO\n')]), true);
    expect(small).toEqual({ text: 'smiles\nCCO\n', complete: true });
  });

  it('reads plain files by slice', async () => {
    expect(await readHead(new Blob(['smiles\nCCO\n']), false)).toEqual({ text: 'smiles\nCCO\n', complete: true });
  });
});
