/**
 * A scatter plot of molecules for big batches: points coloured by a value
 * in eight viridis bands (one ECharts series per band, each drawn in large
 * mode once it passes 2,000 points: ECharts draws a large series in one
 * colour), a grey series for molecules without a value, zoom and pan with
 * the wheel and drag, a box or lasso selection, and the hovered molecule
 * handed to the caller (who shows its structure).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { Chart } from './Chart';
import { bands, selectedIds, type BrushArea, type ScatterData } from './bands';
import { AXIS_STYLE, type EChartsType } from './echarts';

export type { ScatterData } from './bands';

export interface ScatterProps {
  data: ScatterData;
  label: string;
  xName: string;
  yName: string;
  /** What `color` is, for the legend. */
  colorName?: string;
  height?: number;
  onHover?: (hit: { index: number; x: number; y: number } | null) => void;
  /** With it, a toolbar offers box and lasso selection; called with the selected molecule indexes. */
  onSelect?: (indexes: number[]) => void;
}

type Tool = 'pan' | 'rect' | 'polygon';

export function ScatterPlot({ data, label, xName, yName, colorName, height = 520, onHover, onSelect }: ScatterProps) {
  const { bands: series, drawn } = useMemo(() => bands(data, colorName), [data, colorName]);
  const [tool, setTool] = useState<Tool>('pan');
  const chart = useRef<EChartsType | null>(null);
  const hover = useRef(onHover);
  const select = useRef(onSelect);
  const seriesRef = useRef(series);
  useEffect(() => {
    hover.current = onHover;
    select.current = onSelect;
    seriesRef.current = series;
  });

  const option = useMemo(
    () => ({
      animation: false,
      grid: { left: 64, right: 24, top: series.length > 1 ? 48 : 16, bottom: 56 },
      legend: series.length > 1 ? { top: 0, textStyle: { color: '#1c2430' }, itemWidth: 12, itemHeight: 12 } : undefined,
      xAxis: { type: 'value', name: xName, nameLocation: 'middle', nameGap: 30, scale: true, ...AXIS_STYLE },
      yAxis: { type: 'value', name: yName, nameLocation: 'middle', nameGap: 44, scale: true, ...AXIS_STYLE },
      dataZoom: [
        { type: 'inside', xAxisIndex: 0, filterMode: 'none' },
        { type: 'inside', yAxisIndex: 0, filterMode: 'none' },
      ],
      brush: onSelect ? { toolbox: [], xAxisIndex: 0, throttleType: 'debounce', throttleDelay: 200, outOfBrush: { colorAlpha: 0.15 } } : undefined,
      series: series.map((b) => ({
        type: 'scatter',
        name: b.name,
        data: b.points,
        dimensions: ['x', 'y'],
        encode: { x: 0, y: 1 },
        large: true,
        largeThreshold: 2000,
        progressive: 0,
        symbolSize: b.ids.length > 20000 ? 3 : b.ids.length > 2000 ? 4 : 7,
        itemStyle: { color: b.color, opacity: 0.8 },
        emphasis: { scale: 1.8 },
      })),
    }),
    [series, xName, yName, onSelect],
  );

  function pick(next: Tool) {
    setTool(next);
    chart.current?.dispatchAction({
      type: 'takeGlobalCursor',
      key: 'brush',
      brushOption: next === 'pan' ? { brushType: false } : { brushType: next, brushMode: 'single' },
    });
  }

  function onReady(instance: EChartsType) {
    chart.current = instance;
    instance.on('mousemove', (p: unknown) => {
      const e = p as { seriesIndex?: number; dataIndex?: number; event?: { offsetX: number; offsetY: number } };
      const band = seriesRef.current[e.seriesIndex ?? -1];
      const index = band?.ids[e.dataIndex ?? -1];
      if (index === undefined || !e.event) return;
      hover.current?.({ index, x: e.event.offsetX, y: e.event.offsetY });
    });
    instance.on('mouseout', () => hover.current?.(null));
    instance.on('brushSelected', (p: unknown) => {
      const areas = (p as { batch?: { areas?: BrushArea[] }[] }).batch?.[0]?.areas ?? [];
      select.current?.(selectedIds(seriesRef.current, areas));
    });
  }

  return (
    <div className="scatter">
      <div className="toolbar" role="toolbar" aria-label={`${label}: tools`}>
        <div className="button-row" role="group" aria-label="Mouse">
          <button type="button" className="small" aria-pressed={tool === 'pan'} onClick={() => pick('pan')}>
            Zoom and pan
          </button>
          {onSelect && (
            <>
              <button type="button" className="small" aria-pressed={tool === 'rect'} onClick={() => pick('rect')}>
                Box select
              </button>
              <button type="button" className="small" aria-pressed={tool === 'polygon'} onClick={() => pick('polygon')}>
                Lasso select
              </button>
            </>
          )}
          <button type="button" className="small" onClick={() => chart.current?.dispatchAction({ type: 'dataZoom', start: 0, end: 100 })}>
            Reset zoom
          </button>
        </div>
        <span className="hint" role="status">
          {drawn.toLocaleString('en-US')} molecules plotted
        </span>
      </div>
      <Chart option={option} label={label} height={height} drawn={drawn} onReady={onReady} />
    </div>
  );
}
