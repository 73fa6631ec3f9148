/** A square matrix (correlations, −1..1) as a heatmap with a diverging colour scale and each cell's value on hover. */
import { useMemo } from 'react';
import { Chart } from './Chart';
import { AXIS_STYLE } from './echarts';

export function Heatmap({ names, values, label, height = 520 }: { names: string[]; values: number[]; label: string; height?: number }) {
  const option = useMemo(() => {
    const n = names.length;
    const cells: [number, number, number | '-'][] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const v = Number(values[i * n + j]);
      cells.push([j, i, Number.isFinite(v) ? Math.round(v * 100) / 100 : '-']);
    }
    return {
      animation: false,
      grid: { left: 130, right: 100, top: 12, bottom: 120 },
      tooltip: { renderMode: 'richText', formatter: (p: { value: [number, number, number] }) => `${names[p.value[1]]} × ${names[p.value[0]]}: r = ${p.value[2]}` },
      xAxis: { type: 'category', data: names, axisLabel: { ...AXIS_STYLE.axisLabel, rotate: 60, interval: 0 } },
      // The first row at the top, as a matrix reads.
      yAxis: { type: 'category', data: names, inverse: true, axisLabel: { ...AXIS_STYLE.axisLabel, interval: 0 } },
      visualMap: {
        min: -1,
        max: 1,
        calculable: false,
        orient: 'vertical',
        right: 0,
        top: 'middle',
        itemHeight: 200,
        text: ['r = +1', '−1'],
        textStyle: { color: '#1c2430' },
        // Blue–white–red (ColorBrewer RdBu): reads for colour-blind users and in grey.
        inRange: { color: ['#2166ac', '#92c5de', '#f7f7f7', '#f4a582', '#b2182b'] },
      },
      // A white halo keeps the dark text readable on the darkest cells.
      series: [{ type: 'heatmap', data: cells, label: { show: n <= 16, fontSize: 10, color: '#1c2430', textBorderColor: '#ffffff', textBorderWidth: 2 } }],
    };
  }, [names, values]);
  return <Chart option={option} label={label} height={height} drawn={names.length * names.length} />;
}
