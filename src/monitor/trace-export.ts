import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { InMemorySpanExporter, ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { TraceBuilder } from './tracing.ts';

// The OpenTelemetry SDK (about 25 MB resident) is loaded when tracing starts, not when the
// library is imported (issue 15); its packages are CommonJS, so `require` is the same instance.
const load = createRequire(import.meta.url);

// Where the spans of the trace builder go: a tracer provider with one exporter.

/** Where spans go. */
export type TraceExporterKind = 'memory' | 'console' | 'file';

/** Options of {@link createTracing}. */
export interface TracingOptions {
  readonly exporter: TraceExporterKind;
  /** For `file`: the JSON-lines file spans are appended to. */
  readonly file?: string | undefined;
  /** `service.name` of the resource. @default 'ai-orchestrator' */
  readonly serviceName?: string;
}

/** A tracer provider with its exporter, and the builder that feeds it. */
export interface Tracing {
  readonly builder: TraceBuilder;
  /** For `memory`: the spans finished so far. */
  readonly memory: InMemorySpanExporter | undefined;
  /** Ends open spans and flushes and closes the exporter. Idempotent. */
  shutdown(): Promise<void>;
}

/** Starts tracing with the given exporter. */
export function createTracing(options: TracingOptions): Tracing {
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = load(
    '@opentelemetry/sdk-trace-base',
  ) as typeof import('@opentelemetry/sdk-trace-base');
  const { resourceFromAttributes } = load('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const memory = options.exporter === 'memory' ? new InMemorySpanExporter() : undefined;
  const exporter: SpanExporter =
    memory ??
    (options.exporter === 'file'
      ? new JsonLinesSpanExporter(openFile(options.file ?? 'traces.jsonl'))
      : new JsonLinesSpanExporter(process.stderr));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'ai-orchestrator' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const builder = new TraceBuilder(provider.getTracer('ai-orchestrator'));
  let closing: Promise<void> | undefined;
  return {
    builder,
    memory,
    shutdown() {
      closing ??= (async () => {
        builder.endAll();
        await provider.forceFlush();
        await provider.shutdown();
      })();
      return closing;
    },
  };
}

function openFile(file: string): WriteStream {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return createWriteStream(file, { flags: 'a' });
}

/** Writes each finished span as one JSON line (OTLP-like field names, times in ISO and ms). */
export class JsonLinesSpanExporter implements SpanExporter {
  readonly #out: NodeJS.WritableStream;
  #closed = false;

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }

  export(spans: ReadableSpan[], done: (result: { code: number; error?: Error }) => void): void {
    if (this.#closed) {
      done({ code: 1, error: new Error('the exporter is shut down') });
      return;
    }
    let text = '';
    for (const span of spans) text += `${JSON.stringify(spanToJson(span))}\n`;
    this.#out.write(text);
    done({ code: 0 });
  }

  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const out = this.#out as NodeJS.WritableStream & { fd?: number };
    if (out === process.stderr || out === process.stdout) return;
    await new Promise<void>((resolve) => out.end(resolve));
  }
}

/** A finished span as plain JSON. */
export function spanToJson(span: ReadableSpan): Record<string, unknown> {
  const context = span.spanContext();
  const ms = (time: readonly [number, number]) => time[0] * 1000 + time[1] / 1e6;
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: (load('@opentelemetry/api') as typeof import('@opentelemetry/api')).SpanKind[span.kind],
    startTime: new Date(ms(span.startTime)).toISOString(),
    endTime: new Date(ms(span.endTime)).toISOString(),
    durationMs: ms(span.duration),
    attributes: span.attributes,
    status: span.status,
    events: span.events.map((event) => ({
      name: event.name,
      time: new Date(ms(event.time)).toISOString(),
      attributes: event.attributes,
    })),
  };
}
