import { Document, Layout, type PageContext } from '../layout.js';

export function ErrorPage(props: { ctx?: PageContext; title: string; message: string }) {
  if (!props.ctx) {
    return (
      <Document title={props.title}>
        <main id="main">
          <h1>{props.title}</h1>
          <p>{props.message}</p>
        </main>
      </Document>
    );
  }
  return (
    <Layout title={props.title} ctx={props.ctx}>
      <p class="error">{props.message}</p>
    </Layout>
  );
}
