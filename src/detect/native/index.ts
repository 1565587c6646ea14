/**
 * The built-in detection catalogue: GuardDuty's 27 rule, threat-list and policy based EKS
 * audit-log finding types (the 8 AnomalousBehavior types live in detect/behavior).
 * Each call returns fresh detectors with their own state (first-seen images, binding roleRefs).
 */
import type { Detector } from '../detector.js';
import type { ThreatIntel } from '../intel/threat-intel.js';
import { apiCallerDetectors } from './api-caller.js';
import { execInKubeSystemPodDetector } from './execution.js';
import {
  adminAccessToDefaultServiceAccountDetector,
  anonymousAccessGrantedDetector,
  BindingMemory,
  exposedDashboardDetector,
  kubeflowDashboardExposedDetector,
} from './policy.js';
import { privilegedContainerDetector, sensitiveMountDetector } from './workload-launch.js';

export interface NativeDetectorOptions {
  /** Threat lists; without them the MaliciousIPCaller, .Custom and TorIPCaller detectors are not created. */
  readonly intel?: ThreatIntel | undefined;
}

export function nativeDetectors(options: NativeDetectorOptions = {}): Detector[] {
  const memory = new BindingMemory();
  return [
    ...apiCallerDetectors(options.intel),
    execInKubeSystemPodDetector(),
    sensitiveMountDetector(),
    adminAccessToDefaultServiceAccountDetector(memory),
    anonymousAccessGrantedDetector(memory),
    exposedDashboardDetector(),
    kubeflowDashboardExposedDetector(),
    privilegedContainerDetector(),
  ];
}

export { describeNativeRules } from './catalog.js';
