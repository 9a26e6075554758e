import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'core',
          root: './packages/core',
          include: ['src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'examples',
          root: './examples',
          include: ['*/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'repository',
          root: './scripts',
          include: ['*.test.ts'],
        },
      },
    ],
  },
})
