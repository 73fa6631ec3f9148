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
  useEffect(() => {
    ready.current = onReady;
  });

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const instance = echarts.init(el, undefined, { renderer: 'canvas' });
    chart.current = instance;
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
    // `notMerge`: a new option replaces the old one (series may come and go).
    instance.setOption(option, { notMerge: true, lazyUpdate: false });
    if (drawn !== undefined && box.current) {
      // The frame is drawn on the next 'finished'; only then say it is.
      const el = box.current;
      el.removeAttribute('data-drawn');
      const done = () => {
        el.setAttribute('data-drawn', String(drawn));
        instance.off('finished', done);
      };
      instance.on('finished', done);
    }
  }, [option, drawn]);

  return <div ref={box} className={`chart ${className ?? ''}`} role="img" aria-label={label} style={{ height: `${height}px` }} />;
}
