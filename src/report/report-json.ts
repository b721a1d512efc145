/** `report -o out.json`: the full report model, pretty-printed, keys in a fixed order (stable for goldens). */
import type { ReportModel } from '../analysis/report-model.js';
import { toJson } from './serialize.js';

export function renderReportJson(model: ReportModel): string {
  return toJson(model);
}
