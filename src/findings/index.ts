/**
 * Findings: aggregation of detections, suppression rules, and output formats.
 */
export { FindingAggregator, AGGREGATOR_DEFAULTS, findingId, defaultGroupKey, type AggregatorOptions } from './aggregator.js';
export { applySuppression, loadSuppressionFile, parseSuppressionRules, ruleMatches, type SuppressionRule, type SuppressionCondition } from './suppression.js';
export { formatFindings, isFindingFormat, FINDING_FORMATS, type FindingFormat, type FormatOptions } from './formats/index.js';
