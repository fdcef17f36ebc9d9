import { Component, type ReactNode } from 'react';

/**
 * Keeps one view's failure from blanking the page: the view is replaced by what went wrong and
 * a way to try again, the header and navigation stay usable.
 */
export class ErrorBoundary extends Component<
  { readonly children: ReactNode; readonly resetKey: string },
  { readonly error: Error | undefined; readonly resetKey: string }
> {
  override state = { error: undefined as Error | undefined, resetKey: this.props.resetKey };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  static getDerivedStateFromProps(
    props: { readonly resetKey: string },
    state: { readonly error: Error | undefined; readonly resetKey: string },
  ) {
    // Another page (a new hash) starts afresh.
    return props.resetKey === state.resetKey ? null : { error: undefined, resetKey: props.resetKey };
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="error" role="alert">
        <h2>This view failed</h2>
        <p>{this.state.error.message}</p>
        <button type="button" onClick={() => this.setState({ error: undefined })}>
          Try again
        </button>
      </div>
    );
  }
}
