// Chart.js with only the parts the views use registered (a smaller bundle), and axis colours
// from the theme's CSS variables.
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, LineController, LineElement, PointElement, Filler, Legend, Tooltip);

export { Chart };

export function themeColors(): { text: string; muted: string; grid: string } {
  const cs = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string): string => cs.getPropertyValue(name).trim() || fallback;
  return { text: v('--text', '#d9e0ec'), muted: v('--muted', '#8691a7'), grid: v('--border', '#273041') };
}
