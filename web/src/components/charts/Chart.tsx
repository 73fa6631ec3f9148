/**
 * An ECharts chart in a div: created once, given a new option when `option`
 * changes, resized with its box, disposed on unmount. `onReady` hands the
 * instance to a caller that needs events (hover, selection) or actions.
 * The chart's accessible name is `label`; `summary` is a text the page
 * shows beside it (e.g. "1,987 molecules plotted"), so what is drawn can be
 * read without the picture.
 */
import { useEffect, useRef } from 'react';
import { echarts, type EChartsCoreOption, type EChartsType } from './echarts';

export interface ChartProps {
  option: EChartsCoreOption;
  label: string;
  height?: number;
  /** Points or bars drawn, exposed as `data-drawn` for tests and benches. */
  drawn?: number;
  onReady?: (chart: EChartsType) => void;
  className?: string;
}

export function Chart({ option, label, height = 360, drawn, onReady, className }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsType | null>(null);
  const ready = useRef(onReady);
  // The `drawn` of the option last given, for the 'finished' listener.
  const drawnNow = useRef<number | undefined>(undefined);
  useEffect(() => {
    ready.current = onReady;
  });

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const instance = echarts.init(el, undefined, { renderer: 'canvas' });
    chart.current = instance;
    // A frame with every element drawn (progressive rendering included)
    // says how many points it drew. Listening before any setOption: a
    // non-lazy setOption may draw, and finish, before it returns.
    instance.on('finished', () => {
      if (drawnNow.current !== undefined) el.setAttribute('data-drawn', String(drawnNow.current));
    });
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(el);
    ready.current?.(instance);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const instance = chart.current;
    if (!instance) return;
    box.current?.removeAttribute('data-drawn');
    drawnNow.current = drawn;
    // `notMerge`: a new option replaces the old one (series may come and go).
    instance.setOption(option, { notMerge: true, lazyUpdate: false });
  }, [option, drawn]);

  return <div ref={box} className={`chart ${className ?? ''}`} role="img" aria-label={label} style={{ height: `${height}px` }} />;
}
