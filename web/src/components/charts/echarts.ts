/**
 * The one place ECharts is set up: only the charts and components the
 * analyses use are registered (tree-shaken from `echarts/core`), drawn on
 * canvas. Imported only by the lazily loaded analyses chunk.
 */
import { BarChart, HeatmapChart, ScatterChart } from 'echarts/charts';
import {
  BrushComponent,
  DataZoomInsideComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapContinuousComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  BarChart,
  HeatmapChart,
  ScatterChart,
  BrushComponent,
  DataZoomInsideComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapContinuousComponent,
  CanvasRenderer,
]);

export { echarts };
export type { EChartsCoreOption, EChartsType } from 'echarts/core';

export { PLAIN, VIRIDIS } from './palette';

/** Axis text and lines in the app's colours. */
export const AXIS_STYLE = {
  axisLabel: { color: '#1c2430' },
  nameTextStyle: { color: '#1c2430', fontWeight: 600 },
  axisLine: { lineStyle: { color: '#7d8794' } },
  splitLine: { lineStyle: { color: '#e6e9ee' } },
} as const;
