export function AppHeader() {
  return (
    <header className="app-header">
      <h1 className="app-title" data-testid="app-title">
        Countersign
      </h1>
      <p className="app-tagline">Approvals for autonomous agents</p>
    </header>
  );
}
