import { describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../../src/errors/index.ts';
import {
  type CompiledAlertRule,
  compileAlertsValue,
  evaluateAlertExpression,
  parseWorkflow,
  workflowJsonSchema,
} from '../../../src/workflow/index.ts';
import { problemsOf, where } from './helpers.ts';

// The optional `alerts:` and `budget:` sections of a workflow file: validated with the rest of
// the file, every problem placed at its line and field.

const GOOD = `name: watched
agents:
  coder: { systemPrompt: You code. }
alerts:
  maxResponseTime: 2m
  maxErrorRate: { rate: 0.5 }
  maxCost: { session: 2, workflow: 1.5 }
  rules:
    - { name: chatty, when: "workflow.toolCalls > 50", scope: workflow }
    - { name: pricey-agent, value: "agent.costUsd", above: 0.25, scope: agent, severity: critical }
budget:
  workflow: 3
  agentTypes: { coder: 1 }
  onExhausted: pause
nodes:
  - { id: build, agent: coder, task: Build it. }
`;

const BAD = `name: watched
agents:
  coder: { systemPrompt: You code. }
alerts:
  maxResponseTime: soon
  maxErrorRate: { rate: 1.5 }
  rules:
    - { name: a, when: "agent.costUsd > 1.0" }
    - { name: b, value: "workflow.toolcalls", scope: workflow }
    - { name: a, when: "session.costUsd >" }
    - { name: max_session_cost, when: "session.costUsd", value: "session.turns", above: 1 }
budget:
  session: -1
  agentTypes: { codr: 1 }
  onExhaust: pause
nodes:
  - { id: build, agent: coder, task: Build it. }
`;

describe('alerts and budget sections', () => {
  it('compiles thresholds, rules and limits with their defaults', () => {
    const compiled = parseWorkflow(GOOD, 'watched.yaml');
    expect(compiled.alerts).toEqual({
      maxResponseTimeMs: 120_000,
      maxErrorRate: { rate: 0.5, windowMs: 600_000, minAttempts: 4 },
      maxCost: { session: 2, workflow: 1.5 },
      rules: [
        {
          name: 'chatty',
          scope: 'workflow',
          severity: 'warning',
          message: undefined,
          kind: 'when',
          source: 'workflow.toolCalls > 50',
          above: undefined,
        },
        {
          name: 'pricey-agent',
          scope: 'agent',
          severity: 'critical',
          message: undefined,
          kind: 'value',
          source: 'agent.costUsd',
          above: 0.25,
        },
      ],
    });
    expect(compiled.budget).toEqual({
      session: undefined,
      workflow: 3,
      agentTypes: { coder: 1 },
      onExhausted: 'pause',
    });
    expect(
      parseWorkflow('name: bare\nagents: { a: {} }\nnodes: [{ id: n, agent: a, task: t }]').alerts,
    ).toBeUndefined();
  });

  it('reports every problem at its line and field', () => {
    const { problems } = problemsOf(() => parseWorkflow(BAD, 'watched.yaml'));
    expect(where(problems)).toEqual([
      "5:20 alerts.maxResponseTime expected a duration such as '500ms', '30s', '10m' or '1h30m' (units ms, s, m, h, d), received 'soon'",
      '6:25 alerts.maxErrorRate.rate expected a number <= 1, received number 1.5',
      "8:25 alerts.rules[0].when a rule with scope 'session' cannot read 'agent' (it sees session); set scope: agent",
      "9:7 alerts.rules[1].above required field is missing (a 'value' rule is breached above it)",
      "9:26 alerts.rules[1].value 'workflow' has no figure 'toolcalls'; did you mean 'toolCalls'?",
      "10:15 alerts.rules[2].name duplicate rule name 'a' (first used by rules[0])",
      '10:42 alerts.rules[2].when Unexpected token: EOF',
      "11:7 alerts.rules[3] a rule needs exactly one of 'when' (true when breached) or 'value' (with 'above')",
      "11:15 alerts.rules[3].name 'max_session_cost' is the name of a built-in rule",
      "11:89 alerts.rules[3].above 'above' goes with 'value', not with 'when'",
      '13:12 budget.session expected a number >= 0, received number -1',
      "14:17 budget.agentTypes.codr unknown agent 'codr'; did you mean 'coder'?",
      "15:3 budget.onExhaust unknown field 'onExhaust'; did you mean 'onExhausted'?",
    ]);
  });

  it('refuses a pattern of matches() taken from the figures, in a rule and in a condition, at its place', () => {
    const source = `name: watched
agents:
  coder: { systemPrompt: You code. }
alerts:
  rules:
    - { name: odd, scope: agent, when: 'agent.model.matches(agent.agentType)' }
nodes:
  - { id: a, agent: coder, task: t }
  - { id: b, agent: coder, task: t, dependsOn: [a], condition: 'nodes.a.output.matches(nodes.a.output)' }
`;
    const { problems } = problemsOf(() => parseWorkflow(source, 'watched.yaml'));
    const refused =
      "the pattern of matches() must be a string literal: a pattern taken from data (an agent's output, an input) could be written to stall the orchestrator";
    expect(where(problems)).toEqual([`6:61 alerts.rules[0].when ${refused}`, `9:88 nodes[1].condition ${refused}`]);
  });

  it('evaluates compiled rules against figures, without eval', () => {
    const rule: CompiledAlertRule = {
      name: 'r',
      scope: 'agent',
      severity: 'warning',
      message: undefined,
      kind: 'when',
      source: 'agent.toolCallsByTool["Bash"] > 2 && session.costUsd > 0.5',
      above: undefined,
    };
    const variables = (bash: number, cost: number) => ({
      agent: { toolCallsByTool: { Bash: bash } },
      node: {},
      workflow: {},
      session: { costUsd: cost },
    });
    expect(evaluateAlertExpression(rule, variables(3, 1))).toBe(true);
    expect(evaluateAlertExpression(rule, variables(1, 1))).toBe(false);
    expect(() => evaluateAlertExpression(rule, { ...variables(3, 1), agent: {} })).toThrow();
  });

  it('validates alert settings given outside a file in one coded error', () => {
    const error = (() => {
      try {
        compileAlertsValue(
          { rules: [{ name: 'x', when: 'session.nope > 1' }], maxCost: { sesion: 1 } },
          'ORCHESTRATOR_ALERT_RULES',
        );
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(isOrchestratorError(error, 'CONFIG_INVALID')).toBe(true);
    expect(String((error as Error).message)).toContain("rules[0].when  'session' has no figure 'nope'");
    expect(String((error as Error).message)).toContain("maxCost.sesion  unknown field 'sesion'");
  });

  it('appears in the JSON Schema of workflow files', () => {
    const schema = workflowJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(Object.keys(schema.properties.alerts?.properties ?? {})).toEqual([
      'maxResponseTime',
      'maxErrorRate',
      'maxCost',
      'rules',
    ]);
    expect(Object.keys(schema.properties.budget?.properties ?? {})).toEqual([
      'session',
      'workflow',
      'agentTypes',
      'onExhausted',
    ]);
  });
});
