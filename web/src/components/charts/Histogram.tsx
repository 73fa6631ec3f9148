/** A histogram of equal-width bins over [min, max] as a bar chart; the bin under the mouse says its range and count. */
import { useMemo } from 'react';
import { Chart } from './Chart';
import { AXIS_STYLE, PLAIN } from './echarts';


function edge(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function Histogram({ counts, min, max, label, xName, height = 200 }: { counts: number[]; min: number; max: number; label: string; xName: string; height?: number }) {
  const option = useMemo(() => {
    const width = counts.length ? (max - min) / counts.length : 0;
    const names = counts.map((_, i) => `${edge(min + i * width)}–${edge(min + (i + 1) * width)}`);
    return {
      animation: false,
      grid: { left: 48, right: 12, top: 28, bottom: 44 },
      tooltip: { trigger: 'axis', renderMode: 'richText', formatter: (p: { name: string; value: number }[]) => `${xName} ${p[0]?.name}: ${p[0]?.value} molecules` },
      xAxis: { type: 'category', data: names, name: xName, nameLocation: 'middle', nameGap: 28, axisLabel: { ...AXIS_STYLE.axisLabel, interval: 4 }, nameTextStyle: AXIS_STYLE.nameTextStyle, axisLine: AXIS_STYLE.axisLine },
      yAxis: { type: 'value', name: 'molecules', minInterval: 1, ...AXIS_STYLE },
      series: [{ type: 'bar', data: counts, barCategoryGap: '4%', itemStyle: { color: PLAIN } }],
    };
  }, [counts, min, max, xName]);
  const total = counts.reduce((a, b) => a + b, 0);
  return <Chart option={option} label={`${label}: ${total} values in ${counts.length === 1 ? '1 bin' : `${counts.length} bins`} from ${edge(min)} to ${edge(max)}`} height={height} drawn={counts.length} />;
}
