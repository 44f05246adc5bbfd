import type { Scenario } from '../harness/types';
import { hotHit } from './hotHit';

/** Every scenario, in the order of the issue and of results/latest.md. */
export const scenarios: Scenario[] = [hotHit];
